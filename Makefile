# The two commands of the README, and the steps they are made of.
#   make run   set up, build (release) and run phr on its embedded defaults
#   make test  set up, build (debug -Werror and ASan+UBSan) and run the whole test suite
JOBS ?= $(shell nproc)

.PHONY: all setup build run test test-debug test-asan fuzz bench clean

all: build

setup:
	bash scripts/setup

build: setup
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS)

run:
	bash scripts/run

test:
	bash scripts/test

test-debug:
	cmake --preset debug >/dev/null
	cmake --build --preset debug -j $(JOBS)
	ctest --preset debug -j $(JOBS)

test-asan:
	cmake --preset asan-ubsan >/dev/null
	cmake --build --preset asan-ubsan -j $(JOBS)
	ctest --preset asan-ubsan -j $(JOBS)

fuzz: setup
	cmake --preset fuzz >/dev/null
	cmake --build --preset fuzz -j $(JOBS)

clean:
	rm -rf build
