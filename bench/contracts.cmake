# The EVM cost of a mint (built, never run by CTest): bench/contracts.sh runs it.
add_executable(bench_mint ${CMAKE_CURRENT_SOURCE_DIR}/bench_mint.c)
target_include_directories(bench_mint PRIVATE ${PROJECT_SOURCE_DIR}/include)
target_compile_options(bench_mint PRIVATE ${PHR_WARNINGS} -Wno-missing-prototypes)
target_link_libraries(bench_mint PRIVATE phr_contracts phr_chain phr_eth phr_core)
# ns per call of the generated bindings on the hot paths, direct vs the generic ABI path
# (built, never run by CTest): bench/contracts.sh --bindings runs it.
add_executable(bench_bindings ${CMAKE_CURRENT_SOURCE_DIR}/bench_bindings.c)
target_include_directories(bench_bindings PRIVATE ${PROJECT_SOURCE_DIR}/include)
target_compile_options(bench_bindings PRIVATE ${PHR_WARNINGS} -Wno-missing-prototypes)
target_link_libraries(bench_bindings PRIVATE phr_contracts phr_eth phr_core)
