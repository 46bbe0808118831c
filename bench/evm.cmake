# EVM interpreter micro-benchmark (built, never run by CTest): bench/evm.sh runs it.
add_executable(bench_evm ${CMAKE_CURRENT_SOURCE_DIR}/bench_evm.c)
target_include_directories(bench_evm PRIVATE ${PROJECT_SOURCE_DIR}/include)
target_compile_options(bench_evm PRIVATE ${PHR_WARNINGS} -Wno-missing-prototypes)
target_link_libraries(bench_evm PRIVATE phr_evm phr_eth phr_crypto phr_core)
