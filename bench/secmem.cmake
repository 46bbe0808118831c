# Secret memory benchmark (built, never run by CTest): bench/secmem.sh runs it.
add_executable(bench_secmem ${CMAKE_CURRENT_SOURCE_DIR}/bench_secmem.c)
target_include_directories(bench_secmem PRIVATE ${PROJECT_SOURCE_DIR}/include)
target_compile_options(bench_secmem PRIVATE ${PHR_WARNINGS} -Wno-missing-prototypes)
target_link_libraries(bench_secmem PRIVATE phr_core PkgConfig::SODIUM Threads::Threads)
