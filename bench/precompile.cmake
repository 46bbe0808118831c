# Precompile micro-benchmark (built, never run by CTest): bench/precompile.sh runs it.
add_executable(bench_precompile ${CMAKE_CURRENT_SOURCE_DIR}/bench_precompile.c)
target_include_directories(bench_precompile PRIVATE ${PROJECT_SOURCE_DIR}/include)
target_compile_options(bench_precompile PRIVATE ${PHR_WARNINGS} -Wno-missing-prototypes)
target_link_libraries(bench_precompile PRIVATE phr_evm phr_crypto phr_core PkgConfig::JANSSON)
