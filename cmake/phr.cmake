# Shared build settings and helper functions for phr modules, tests and fuzzers.
find_package(PkgConfig REQUIRED)
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)
pkg_check_modules(SECP256K1 REQUIRED IMPORTED_TARGET libsecp256k1)
pkg_check_modules(SQLITE3 REQUIRED IMPORTED_TARGET sqlite3)
pkg_check_modules(JANSSON REQUIRED IMPORTED_TARGET jansson)
pkg_check_modules(MHD REQUIRED IMPORTED_TARGET libmicrohttpd)
pkg_check_modules(CURL REQUIRED IMPORTED_TARGET libcurl)
pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka)
pkg_check_modules(NETTLE REQUIRED IMPORTED_TARGET nettle)
pkg_check_modules(ZLIB REQUIRED IMPORTED_TARGET zlib)
find_package(Threads REQUIRED)

set(PHR_WARNINGS
  -Wall -Wextra -Wpedantic -Wformat=2 -Wshadow -Wstrict-prototypes
  -Wmissing-prototypes -Wvla -Wwrite-strings -Wimplicit-fallthrough
  -Wno-unused-parameter)
if(PHR_WERROR)
  # gcc's flow-based format-truncation and maybe-uninitialized verdicts change with the
  # optimisation level (-O0 builds are silent where the -Og preset warns): shown, not fatal
  list(APPEND PHR_WARNINGS -Werror -Wno-error=format-truncation -Wno-error=maybe-uninitialized)
endif()

# Every phr translation unit sees the banned-functions list (git's banned.h idea).
set(PHR_PRELUDE "${PROJECT_SOURCE_DIR}/src/prelude.h")
add_compile_definitions(_GNU_SOURCE)

if(PHR_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
if(PHR_HARDEN)
  add_compile_options(-fstack-protector-strong -D_FORTIFY_SOURCE=2)
endif()
if(PHR_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "PHR_FUZZ needs clang (use the 'fuzz' preset)")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()

# phr_module(NAME SOURCES... [LIBS ...]): static library phr_<NAME> with phr's warnings.
function(phr_module name)
  cmake_parse_arguments(M "" "" "SOURCES;LIBS" ${ARGN})
  if(NOT M_SOURCES)
    # a module with no code yet: an interface target so dependents still link
    add_library(phr_${name} INTERFACE)
    target_include_directories(phr_${name} INTERFACE ${PROJECT_SOURCE_DIR}/include)
    target_link_libraries(phr_${name} INTERFACE ${M_LIBS})
    return()
  endif()
  add_library(phr_${name} STATIC ${M_SOURCES})
  target_include_directories(phr_${name} PUBLIC ${PROJECT_SOURCE_DIR}/include
                                         PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
  target_compile_options(phr_${name} PRIVATE ${PHR_WARNINGS} -include ${PHR_PRELUDE})
  target_link_libraries(phr_${name} PUBLIC ${M_LIBS})
endfunction()

# phr_test(NAME SOURCES... LIBS... [LABELS ...] [ARGS ...]): a cmocka executable registered with CTest.
function(phr_test name)
  cmake_parse_arguments(T "" "TIMEOUT" "SOURCES;LIBS;LABELS;ARGS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/tests)
  target_compile_options(${name} PRIVATE ${PHR_WARNINGS} -Wno-missing-prototypes)
  target_link_libraries(${name} PRIVATE ${T_LIBS} PkgConfig::CMOCKA)
  add_test(NAME ${name} COMMAND ${name} ${T_ARGS} WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  if(NOT T_LABELS)
    set(T_LABELS unit)
  endif()
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  set_tests_properties(${name} PROPERTIES LABELS "${T_LABELS}" TIMEOUT ${T_TIMEOUT}
    ENVIRONMENT "PHR_SOURCE_DIR=${PROJECT_SOURCE_DIR};PHR_BIN=$<TARGET_FILE:phr>")
endfunction()

# phr_fuzzer(NAME SOURCE LIBS...): a libFuzzer target fuzz_<NAME> when PHR_FUZZ is on, and
# always a replay driver that runs fuzz/corpus/<NAME>/* through the same entry point
# (CTest label fuzz-regress), so every build, the sanitizer one included, replays the corpus.
function(phr_fuzzer name)
  cmake_parse_arguments(F "" "SOURCE" "LIBS" ${ARGN})
  set(corpus ${PROJECT_SOURCE_DIR}/fuzz/corpus/${name})
  if(PHR_FUZZ)
    add_executable(fuzz_${name} ${F_SOURCE})
    target_compile_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
    target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
    target_include_directories(fuzz_${name} PRIVATE ${PROJECT_SOURCE_DIR}/include)
    target_link_libraries(fuzz_${name} PRIVATE ${F_LIBS})
  endif()
  add_executable(replay_${name} ${F_SOURCE} ${PROJECT_SOURCE_DIR}/fuzz/replay.c)
  target_include_directories(replay_${name} PRIVATE ${PROJECT_SOURCE_DIR}/include)
  target_compile_options(replay_${name} PRIVATE ${PHR_WARNINGS} -Wno-missing-prototypes)
  target_link_libraries(replay_${name} PRIVATE ${F_LIBS})
  add_test(NAME fuzz_regress_${name} COMMAND replay_${name} ${corpus})
  set_tests_properties(fuzz_regress_${name} PROPERTIES LABELS fuzz-regress TIMEOUT 300)
endfunction()
