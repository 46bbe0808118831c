# Emergency escrow and notification benchmark (built, never run by CTest): bench/emergency.sh runs it.
add_executable(bench_emergency ${CMAKE_CURRENT_SOURCE_DIR}/bench_emergency.c)
target_include_directories(bench_emergency PRIVATE ${PROJECT_SOURCE_DIR}/include)
target_compile_options(bench_emergency PRIVATE ${PHR_WARNINGS} -Wno-missing-prototypes)
target_link_libraries(bench_emergency PRIVATE phr_phr Threads::Threads)
