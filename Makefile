# migdeck - build, deps, tests, demo, install.
#
#   make              build ./migdeck
#   make deps         install the Debian packages that are missing
#   make check        build and run every test (unit, integration on a
#                     throwaway PostgreSQL, CLI)
#   make check-asan   the same tests built with -fsanitize=address,undefined
#   make check-valgrind  the unit and CLI tests under valgrind
#   make fuzz         libFuzzer on the SQL lexer (FUZZ_SECONDS, default 600)
#   make bench        speed figures (see doc/benchmarks.md)
#   make demo         the console on a scratch database with the demo workspace
#   make install      PREFIX=/usr/local DESTDIR=
#   make compile_commands.json

CC      ?= gcc
BUILD   ?= build
PREFIX  ?= /usr/local

PKGS       := panelw ncursesw libpq libgit2 zlib
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)

WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
OPT      ?= -O2 -g
SAN      ?=
CPPFLAGS += -D_DEFAULT_SOURCE -D_GNU_SOURCE -Isrc -I. $(PKG_CFLAGS)
CFLAGS   += -std=c11 $(WARN) $(OPT) $(SAN)
LDFLAGS  += $(SAN)
LIBS     := $(PKG_LIBS) -liniparser -pthread

LIB_SRC  := $(filter-out src/main.c,$(wildcard src/*.c))
CLI_SRC  := src/main.c $(wildcard src/cli/*.c)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
# the curses console: its own library, linked into the binary and the tests
UI_SRC   := $(wildcard ui/*.c)
UI_OBJ   := $(UI_SRC:%.c=$(BUILD)/%.o)
UI_LIB   := $(BUILD)/libmigdeck-ui.a
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
# migdeck's own bookkeeping schema, migrations/*.sql, compiled in.
EMBED_SQL := $(sort $(wildcard migrations/*.sql))
LIB_OBJ  += $(BUILD)/gen/embedded.o
LIB      := $(BUILD)/libmigdeck.a
BIN      := $(BUILD)/migdeck

SUPPORT_SRC := $(wildcard tests/support/*.c)
SUPPORT_OBJ := $(SUPPORT_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%)
INT_SRC  := $(wildcard tests/integration/test_*.c)
INT_BIN  := $(INT_SRC:tests/integration/%.c=$(BUILD)/tests/integration/%)
BENCH_SRC := $(wildcard tests/bench/bench_*.c)
BENCH_BIN := $(BENCH_SRC:tests/bench/%.c=$(BUILD)/tests/bench/%)

.PHONY: all deps check check-asan check-valgrind test-bins fuzz bench demo \
	install uninstall clean format

all: migdeck

migdeck: $(BIN)
	@ln -sf $(BIN) migdeck

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

# (the folder too: a file removed from migrations/ regenerates it)
$(BUILD)/gen/embedded.c: migrations/embed.sh $(EMBED_SQL) migrations
	@mkdir -p $(dir $@)
	sh migrations/embed.sh $(EMBED_SQL) > $@.tmp && mv $@.tmp $@

$(BUILD)/gen/embedded.o: $(BUILD)/gen/embedded.c
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(LIB): $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(UI_LIB): $(UI_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BIN): $(CLI_OBJ) $(UI_LIB) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(SUPPORT_OBJ) $(UI_LIB) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) $(CMOCKA_LIBS)

$(BUILD)/tests/integration/%: $(BUILD)/tests/integration/%.o $(SUPPORT_OBJ) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) $(CMOCKA_LIBS)

$(BUILD)/tests/bench/%: $(BUILD)/tests/bench/%.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

test-bins: $(BIN) $(UNIT_BIN) $(INT_BIN)

deps:
	@sh tests/deps.sh

# Every test in one command: unit tests, then a throwaway PostgreSQL cluster
# for the integration and CLI tests (stopped on exit, failure or Ctrl-C).
check: deps
	@$(MAKE) --no-print-directory test-bins
	@MIGDECK_BIN=$(abspath $(BIN)) sh tests/run.sh $(BUILD)

check-asan: deps
	@$(MAKE) --no-print-directory BUILD=build/asan OPT="-O1 -g -fno-omit-frame-pointer" \
		SAN="-fsanitize=address,undefined -fno-sanitize-recover=all" test-bins
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
		MIGDECK_BIN=$(abspath build/asan/migdeck) sh tests/run.sh build/asan

check-valgrind: deps
	@$(MAKE) --no-print-directory test-bins
	@MIGDECK_VALGRIND=1 MIGDECK_BIN=$(abspath $(BIN)) sh tests/run.sh $(BUILD)

FUZZ_SECONDS ?= 600
fuzz: deps
	@mkdir -p $(BUILD)/fuzz/corpus-run
	clang -std=c11 -g -O1 -D_GNU_SOURCE -Isrc -fsanitize=fuzzer,address,undefined \
		-o $(BUILD)/fuzz/fuzz_script tests/fuzz/fuzz_script.c src/script.c src/error.c
	$(BUILD)/fuzz/fuzz_script $(wildcard tests/fuzz/crashes/*)
	$(BUILD)/fuzz/fuzz_script -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
		-rss_limit_mb=2048 -max_len=65536 $(BUILD)/fuzz/corpus-run tests/fuzz/corpus \
		pending applied archive

# The C benchmarks, then the shell ones (tests/bench/*.sh) on one throwaway
# PostgreSQL cluster.
# deps first, then a sub-make: on a fresh machine pkg-config and the -dev
# packages only exist once deps has run, after this Makefile was read.
bench: deps
	@$(MAKE) --no-print-directory $(BIN) $(BENCH_BIN)
	@for b in $(BENCH_BIN); do $$b || exit 1; done
	@MIGDECK_BIN=$(abspath $(BIN)) sh tests/pg_harness.sh \
		sh -c 'for s in tests/bench/*.sh; do sh "$$s" || exit 1; done'

demo: deps
	@$(MAKE) --no-print-directory migdeck
	@sh tests/demo.sh

install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/migdeck
	install -m 0644 doc/migdeck.1 $(DESTDIR)$(PREFIX)/share/man/man1/migdeck.1

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/migdeck $(DESTDIR)$(PREFIX)/share/man/man1/migdeck.1

# compile_commands.json for clangd and clang-tidy (bear ships with the machine
# image; without it, the file is written from make's dry run).
compile_commands.json: $(LIB_SRC) $(CLI_SRC) $(UNIT_SRC) $(INT_SRC) $(SUPPORT_SRC)
	@sh tests/compdb.sh "$(CC)" "$(CPPFLAGS) $(CFLAGS)" $^ > $@
	@echo "wrote $@"

format:
	clang-format -i src/*.c src/*.h src/cli/*.c src/cli/*.h ui/*.c ui/*.h tests/*/*.c tests/*/*.h

clean:
	rm -rf build migdeck compile_commands.json

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
