/* replay.c - see replay.h. */
#include "replay.h"

#include <stdio.h>
#include <stdlib.h>

int sc_fuzz_replay(const char *name, int argc, char **argv)
{
    int i, failed = 0;
    for (i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        uint8_t *buf = NULL;
        long n;
        if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
            fseek(f, 0, SEEK_SET) != 0) {
            fprintf(stderr, "%s: cannot read %s\n", name, argv[i]);
            if (f)
                fclose(f);
            failed = 1;
            continue;
        }
        buf = malloc(n > 0 ? (size_t)n : 1);
        if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
            fprintf(stderr, "%s: cannot read %s\n", name, argv[i]);
            failed = 1;
        } else {
            LLVMFuzzerTestOneInput(buf, (size_t)n);
        }
        free(buf);
        fclose(f);
    }
    if (argc > 1)
        fprintf(stderr, "%s: ran %d input(s)\n", name, argc - 1);
    return failed;
}
