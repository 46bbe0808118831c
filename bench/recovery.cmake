# Backup/recovery benchmark (built, never run by CTest): bench/recovery.sh runs it.
add_executable(bench_recovery ${CMAKE_CURRENT_SOURCE_DIR}/bench_recovery.c ${PROJECT_SOURCE_DIR}/tests/node/node_test_util.c)
target_include_directories(bench_recovery PRIVATE ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/tests)
target_compile_options(bench_recovery PRIVATE ${PHR_WARNINGS} -Wno-missing-prototypes)
target_link_libraries(bench_recovery PRIVATE phr_phr PkgConfig::SODIUM)
