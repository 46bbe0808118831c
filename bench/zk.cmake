# ZK benchmarks (built, never run by CTest): bench/zk.sh runs them beside snarkjs.
add_executable(bench_zk ${CMAKE_CURRENT_SOURCE_DIR}/bench_zk.c)
target_include_directories(bench_zk PRIVATE ${PROJECT_SOURCE_DIR}/include)
target_compile_options(bench_zk PRIVATE ${PHR_WARNINGS} -Wno-missing-prototypes)
target_link_libraries(bench_zk PRIVATE phr_privacy phr_evm phr_core)
