# bench/chart.gp - bench/results.png from the data files bench/report.py writes.
# Top: each row of datafile is: index "label" score "annotation"; score =
# measured/target scaled so that 1.0 is exactly the target (target/measured
# for "at most" targets), capped at 5. Bars at or above the dashed line met
# their target.
# Below (when pathsfile exists): the write path side by side, one bar per
# path (scour, each peer, the ceiling) in three figures: throughput, CPU per
# 1,000 events, peak RSS. Rows: index "label" events_per_s cpu_ms_per_1k rss_mb
# Usage: gnuplot -e "datafile='chart.dat'; pathsfile='paths.dat'; outfile='results.png'" bench/chart.gp
if (!exists("datafile")) datafile = 'chart.dat'
if (!exists("pathsfile")) pathsfile = ''
if (!exists("outfile")) outfile = 'results.png'
havepaths = (pathsfile ne '' && system("test -s '".pathsfile."' && echo 1 || echo 0") eq "1")
set terminal pngcairo size 1200,(havepaths ? 1040 : 620) font "DejaVu Sans,10"
set output outfile
set style fill solid 0.8 border -1
set ytics nomirror
set grid ytics
set key off
if (havepaths) { set multiplot; set origin 0,0.45; set size 1,0.55 }
set title "scour benchmark: measured / target (1.0 = target; higher is better)"
set boxwidth 0.6
set yrange [0:5.6]
set ylabel "ratio to target"
set xtics rotate by -35 left nomirror
set bmargin 9
set rmargin 6
met(y) = (y >= 1.0) ? 0x2e8b57 : 0xcd3333
plot datafile using 1:3:(met($3)):xtic(2) with boxes lc rgb variable, \
     '' using 1:3:4 with labels offset 0,0.8 font ",9", \
     1.0 with lines dt 2 lw 2 lc rgb "black"
if (havepaths) {
    # the three figures below the first plot
    set size 0.333,0.45
    set xtics norotate nomirror
    set bmargin 3
    set rmargin 2
    set yrange [0:*]
    set boxwidth 0.7
    col(i) = (i == 0) ? 0x1f77b4 : (i == 1) ? 0x17becf : (i == 2) ? 0xff7f0e : 0x7f7f7f
    set origin 0,0
    set title "write path: events/s (higher is better)"
    set ylabel "events/s"
    plot pathsfile using 1:3:(col($1)):xtic(2) with boxes lc rgb variable, \
         '' using 1:3:(sprintf("%.0f", $3)) with labels offset 0,0.7 font ",9"
    set origin 0.333,0
    set title "CPU ms per 1,000 events (lower is better)"
    set ylabel "ms"
    plot pathsfile using 1:4:(col($1)):xtic(2) with boxes lc rgb variable, \
         '' using 1:4:(sprintf("%.1f", $4)) with labels offset 0,0.7 font ",9"
    set origin 0.666,0
    set title "peak RSS MB (lower is better)"
    set ylabel "MB"
    plot pathsfile using 1:5:(col($1)):xtic(2) with boxes lc rgb variable, \
         '' using 1:5:(sprintf("%.1f", $5)) with labels offset 0,0.7 font ",9"
    unset multiplot
}
