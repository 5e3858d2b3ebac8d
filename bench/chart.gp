# bench/chart.gp - bench/results.png from the data file bench/report.py writes.
# Each row: index "label" score "annotation"; score = measured/target scaled so
# that 1.0 is exactly the target (target/measured for "at most" targets), capped
# at 5. Bars at or above the dashed line met their target.
# Usage: gnuplot -e "datafile='chart.dat'; outfile='results.png'" bench/chart.gp
if (!exists("datafile")) datafile = 'chart.dat'
if (!exists("outfile")) outfile = 'results.png'
set terminal pngcairo size 1100,620 font "DejaVu Sans,10"
set output outfile
set title "scour benchmark: measured / target (1.0 = target; higher is better)"
set style fill solid 0.8 border -1
set boxwidth 0.6
set yrange [0:5.6]
set ylabel "ratio to target"
set xtics rotate by -35 left nomirror
set ytics nomirror
set grid ytics
set key off
set bmargin 9
set rmargin 6
met(y) = (y >= 1.0) ? 0x2e8b57 : 0xcd3333
plot datafile using 1:3:(met($3)):xtic(2) with boxes lc rgb variable, \
     '' using 1:3:4 with labels offset 0,0.8 font ",9", \
     1.0 with lines dt 2 lw 2 lc rgb "black"
