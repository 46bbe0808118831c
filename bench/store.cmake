# Store benchmark (built, never run by CTest): bench/store.sh runs it.
add_executable(bench_store ${CMAKE_CURRENT_SOURCE_DIR}/bench_store.c)
target_include_directories(bench_store PRIVATE ${PROJECT_SOURCE_DIR}/include)
target_compile_options(bench_store PRIVATE ${PHR_WARNINGS} -Wno-missing-prototypes)
target_link_libraries(bench_store PRIVATE phr_store phr_crypto phr_core PkgConfig::SODIUM)
