/*
 * replay.h - the main() of a fuzz target when it is not built with libFuzzer:
 * run LLVMFuzzerTestOneInput over each file named on the command line, each
 * from an exact-size heap copy so a sanitizer sees any read past its end.
 */
#ifndef SC_FUZZ_REPLAY_H
#define SC_FUZZ_REPLAY_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Returns 0 when every file was read (whatever the target did with it; an
 * invariant the target checks aborts the process), 1 otherwise. */
int sc_fuzz_replay(const char *name, int argc, char **argv);

#endif
