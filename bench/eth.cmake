# eth micro-benchmark (built, never run by CTest): bench/eth.sh runs it next to ethers v6.
add_executable(bench_eth ${CMAKE_CURRENT_SOURCE_DIR}/bench_eth.c)
target_include_directories(bench_eth PRIVATE ${PROJECT_SOURCE_DIR}/include)
target_compile_options(bench_eth PRIVATE ${PHR_WARNINGS} -Wno-missing-prototypes)
target_link_libraries(bench_eth PRIVATE phr_eth phr_crypto phr_core)
