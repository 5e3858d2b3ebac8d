# scour - build, test, bench and demo.
#
#   make            build libscour.a and the three programs into $(BUILD)
#   make test       install what is missing, build with ASan+UBSan, start the
#                   local stack, run unit + integration tests, stop the stack
#   make test-engines  the integration tests on Elasticsearch 7.10.2
#   make bench      benchmarks; writes bench/results.md
#   make demo       the whole system on real text, until Ctrl-C
#   make deps       install missing Debian packages (skips what is present)

BUILD ?= build
SAN ?= 0
CC ?= cc

PKGS := libcurl hiredis libcjson libpq libmicrohttpd libcrypto libuv
WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wpointer-arith -Wformat=2 -Wno-format-nonliteral
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 $(WARN) -D_GNU_SOURCE -pthread -Ilibscour -MMD -MP
ifeq ($(SAN),1)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
LIBS = $(PKG_LIBS) -lm -pthread
TEST_LIBS = $(LIBS) $(shell pkg-config --libs cmocka 2>/dev/null)

# llhttp (the router's HTTP parser) comes as C sources in Debian's
# node-llhttp package; it is built here with its own flags (generated code,
# not held to our warnings).
LLHTTP_DIR ?= /usr/share/llhttp
LLHTTP_INC ?= /usr/share/include/llhttp
LLHTTP_OBJ := $(addprefix $(BUILD)/obj/llhttp/,llhttp.o api.o http.o)
SAN_FLAGS :=
ifeq ($(SAN),1)
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer
endif

LIB_SRC := $(sort $(wildcard libscour/*.c))
LIB_OBJ := $(patsubst libscour/%.c,$(BUILD)/obj/%.o,$(LIB_SRC))
LIB := $(BUILD)/libscour.a

# A program folder without a main.c yet is skipped rather than breaking the build.
PROGS := $(foreach p,indexer router reindex admin,$(if $(wildcard $(p)/main.c),$(p)))
PROG_BIN := $(addprefix $(BUILD)/,$(PROGS))
TOOLS_SRC := $(sort $(wildcard tools/*.c))
TOOLS_BIN := $(patsubst tools/%.c,$(BUILD)/%,$(TOOLS_SRC))

UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
IT_SRC := $(sort $(wildcard tests/integration/it_*.c))
IT_BIN := $(patsubst tests/integration/%.c,$(BUILD)/tests/%,$(IT_SRC))
TEST_HELPERS := tests/testlib.c tests/testlib_prog.c
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRC))
# The same targets built by clang with libFuzzer, for coverage-guided runs.
FUZZCOV_BIN := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzzcov/%,$(FUZZ_SRC))
FUZZ_CC ?= clang
FUZZ_CFLAGS := -g -O1 -std=gnu11 -D_GNU_SOURCE -DSC_LIBFUZZER -pthread -Ilibscour -Itests/fuzz \
               -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZCOV_OBJ := $(patsubst libscour/%.c,$(BUILD)/fuzzcov/obj/%.o,$(LIB_SRC))

.PHONY: all deps test test-engines test-build unit integration bench bench-peers demo clean stack-start stack-stop check-deps \
        fuzz-cov lint

all: $(LIB) $(PROG_BIN) $(TOOLS_BIN)

$(BUILD)/obj/%.o: libscour/%.c $(wildcard libscour/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -c -o $@ $<

$(BUILD)/obj/llhttp/%.o: $(LLHTTP_DIR)/%.c $(LLHTTP_INC)/llhttp.h
	@mkdir -p $(dir $@)
	$(CC) -O2 -g -w $(SAN_FLAGS) -I$(LLHTTP_INC) -c -o $@ $<

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

.SECONDEXPANSION:
$(PROG_BIN): $(BUILD)/%: $$(wildcard %/*.c) $$(wildcard %/*.h) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -I$* $(if $(filter router,$*),-I$(LLHTTP_INC)) -o $@ \
	    $(filter %.c,$^) $(filter %.o,$^) $(LIB) $(LDFLAGS) $(LIBS)

$(BUILD)/router: $(LLHTTP_OBJ)

$(TOOLS_BIN): $(BUILD)/%: tools/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -o $@ $< $(LIB) $(LDFLAGS) $(LIBS)

$(UNIT_BIN): $(BUILD)/tests/%: tests/unit/%.c $(TEST_HELPERS) tests/testlib.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -Itests -o $@ $< $(TEST_HELPERS) $(LIB) $(LDFLAGS) $(TEST_LIBS)

$(IT_BIN): $(BUILD)/tests/%: tests/integration/%.c $(TEST_HELPERS) tests/testlib.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -Itests -o $@ $< $(TEST_HELPERS) $(LIB) $(LDFLAGS) $(TEST_LIBS)

# Fuzz targets in their replay build (gcc has no libFuzzer): run over files.
$(FUZZ_BIN): $(BUILD)/fuzz/%: tests/fuzz/%.c tests/fuzz/replay.c tests/fuzz/replay.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -Itests/fuzz -o $@ $< tests/fuzz/replay.c $(LIB) $(LDFLAGS) $(LIBS)

# Coverage-guided builds: clang compiles the target and every library source
# with libFuzzer's instrumentation (the gcc-built libscour.a has none).
$(BUILD)/fuzzcov/obj/%.o: libscour/%.c $(wildcard libscour/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(PKG_CFLAGS) -c -o $@ $<

$(FUZZCOV_BIN): $(BUILD)/fuzzcov/%: tests/fuzz/%.c $(FUZZCOV_OBJ)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(PKG_CFLAGS) -o $@ $< $(FUZZCOV_OBJ) $(LIBS)

fuzz-cov: $(FUZZCOV_BIN)

# Install only what is missing; a present machine costs one dpkg query.
deps:
	@tests/deps.sh

check-deps:
	@tests/deps.sh --check

# The house rules a machine checks: format, banned functions, library output.
lint:
	@tests/lint.sh

# The packet delayer tests/hosts puts on each test host's link (tc netem's
# stand-in); skipped when libnetfilter-queue is not installed.
NETDELAY_BIN := $(if $(shell pkg-config --exists libnetfilter_queue 2>/dev/null && echo y),$(BUILD)/tests/netdelay)
$(BUILD)/tests/netdelay: tests/netdelay.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS) $(shell pkg-config --libs libnetfilter_queue)

test-build: all $(UNIT_BIN) $(IT_BIN) $(FUZZ_BIN) $(FUZZCOV_BIN) $(NETDELAY_BIN)

# The README's test command. Builds under ASan+UBSan in build-san/ so the
# whole suite is sanitizer-checked, then runs it against a fresh local stack.
test:
	@tests/deps.sh
	@tests/lint.sh
	$(MAKE) BUILD=build-san SAN=1 test-build
	tests/run-all.sh build-san

# Every integration test and the demo smoke on Elastic's own Elasticsearch
# 7.10.2 instead of OpenSearch 2.19 (make test runs three of them on it).
test-engines:
	@tests/deps.sh
	$(MAKE) BUILD=build-san SAN=1 test-build
	SC_ENGINE=elasticsearch tests/run-all.sh build-san --integration-only

unit: 
	$(MAKE) BUILD=build-san SAN=1 test-build
	tests/run-all.sh build-san --unit-only

# The benchmark's Go peer (bench/goworker): modules pinned in bench/go.mod
# and bench/go.sum, fetched from the Go module proxy here, at build time
# (never at run time); GOTOOLCHAIN=local keeps the installed Go.
GO ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)
$(BUILD)/goworker: bench/go.mod bench/go.sum $(wildcard bench/goworker/*.go)
	@mkdir -p $(BUILD)
	cd bench && GOTOOLCHAIN=local GOFLAGS=-mod=readonly $(GO) build -trimpath -o $(abspath $@) ./goworker

bench-peers: $(BUILD)/goworker

bench:
	@tests/deps.sh
	$(MAKE) BUILD=build all bench-peers
	bench/run.sh build

demo:
	@tests/deps.sh
	$(MAKE) BUILD=build all
	tests/demo.sh build

stack-start:
	tests/stack start
stack-stop:
	tests/stack stop

clean:
	rm -rf build build-san build-*

# Header dependencies of the library objects (-MMD -MP). The programs' own
# rules already depend on every file of their folder and on the library.
-include $(wildcard $(BUILD)/obj/*.d $(BUILD)/fuzzcov/obj/*.d)
