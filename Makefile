# rivet — top-level build.
#
#   make            librivet, librivet-rt and the tools into build/
#   make demo       build and run examples/demo (a multi-file C program)
#   make examples   build examples/embed (the engine embedded in a program)
#   make check      build and run the whole test suite
#   make asan       the same suite built with ASan + UBSan into build-asan/
#   make bench      side-by-side timings against llvm-jitlink-14 and ld
#
# Variables: BUILD (output dir), SAN=1 (sanitizers), CC, OPT.

BUILD   ?= build
CC      ?= cc
OPT     ?= -O2
SAN     ?=

WARN    := -Wall -Wextra -Wno-unused-parameter -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Werror=implicit-function-declaration
CFLAGS  := -std=c11 -D_GNU_SOURCE -g $(OPT) $(WARN) -fPIC -fno-plt \
           -Iinclude -Isrc
LDLIBS  := -ldl -lpthread
ifeq ($(SAN),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer \
           -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif
# The tools link with -fPIC code and no copy relocations, so host data such
# as libc's `stdout` stays in libc, next to where rivet places JIT'd code.
LDFLAGS += -pie -rdynamic

RT_SRC  := $(sort $(wildcard src/support/*.c src/executor/*.c \
             src/executor/services/*.c src/executor/ci/*.c \
             src/executor/ci_json/*.c src/sys/posix/*.c))
LIB_SRC := $(sort $(wildcard src/object/*.c src/graph/*.c src/link/*.c \
             src/arch/*.c src/controller/*.c src/engine/*.c))
RT_OBJ  := $(RT_SRC:%.c=$(BUILD)/obj/%.o)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_SRC:= $(sort $(wildcard tests/unit/*.c))
UNIT_BIN:= $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%)

LIBRT   := $(BUILD)/lib/librivet-rt.a
LIB     := $(BUILD)/lib/librivet.a
TOOLS   := $(patsubst src/tools/%.c,$(BUILD)/bin/%,$(wildcard src/tools/*.c))

.PHONY: all demo examples check unit lit fuzz asan bench clean deps
EXAMPLES:= $(BUILD)/examples/embed

all: $(TOOLS) $(UNIT_BIN) $(EXAMPLES)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(LIBRT): $(RT_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^
$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/bin/%: $(BUILD)/obj/src/tools/%.o $(LIB) $(LIBRT)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $< $(LIB) $(LIBRT) $(LDLIBS) -o $@

$(BUILD)/tests/unit/%: $(BUILD)/obj/tests/unit/%.o $(LIB) $(LIBRT)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $< $(LIB) $(LIBRT) $(LDLIBS) -o $@

examples: $(EXAMPLES)

$(BUILD)/examples/embed: $(BUILD)/obj/examples/embed/embed.o $(LIB) $(LIBRT)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $< $(LIB) $(LIBRT) $(LDLIBS) -o $@

deps:
	@sh scripts/install-deps.sh

demo: $(BUILD)/bin/rivet
	@sh examples/demo/run.sh $(BUILD)

unit: $(UNIT_BIN)
	@sh tests/run-unit.sh $(BUILD)

lit: all
	@sh tests/run-lit.sh $(BUILD)

fuzz: deps
	@sh tests/fuzz/run.sh $(BUILD)-fuzz

check: deps all
	@sh tests/run-unit.sh $(BUILD)
	@sh tests/run-lit.sh $(BUILD)
	@sh tests/fuzz/run.sh $(BUILD)-fuzz

asan:
	$(MAKE) BUILD=build-asan SAN=1 OPT=-O1 all
	@sh tests/run-unit.sh build-asan
	@sh tests/run-lit.sh build-asan

bench: all
	@sh bench/run.sh $(BUILD)

clean:
	rm -rf build build-asan build-fuzz

-include $(RT_OBJ:.o=.d) $(LIB_OBJ:.o=.d) $(UNIT_SRC:%.c=$(BUILD)/obj/%.d) \
         $(patsubst %.c,$(BUILD)/obj/%.d,$(wildcard src/tools/*.c)) \
         $(BUILD)/obj/examples/embed/embed.d
.SECONDARY:
