# Chain benchmark driver (built, never run by CTest): bench/chain.sh runs it against
# phr chain and anvil in one run.
add_executable(bench_chain_rpc ${CMAKE_CURRENT_SOURCE_DIR}/bench_chain_rpc.c ${CMAKE_CURRENT_SOURCE_DIR}/chain_bench_tx.c)
target_include_directories(bench_chain_rpc PRIVATE ${PROJECT_SOURCE_DIR}/include)
target_compile_options(bench_chain_rpc PRIVATE ${PHR_WARNINGS} -Wno-missing-prototypes)
target_link_libraries(bench_chain_rpc PRIVATE phr_chain Threads::Threads)
# bench/chain_seal.sh: CPU per sealed block and per minted record, memory per record
add_executable(bench_chain_seal ${CMAKE_CURRENT_SOURCE_DIR}/bench_chain_seal.c ${CMAKE_CURRENT_SOURCE_DIR}/chain_bench_tx.c)
target_include_directories(bench_chain_seal PRIVATE ${PROJECT_SOURCE_DIR}/include)
target_compile_options(bench_chain_seal PRIVATE ${PHR_WARNINGS} -Wno-missing-prototypes)
target_link_libraries(bench_chain_seal PRIVATE phr_chain phr_eth phr_core Threads::Threads)
