# Node API benchmark (built, never run by CTest): bench/node.sh runs it against phr node --dev.
add_executable(bench_node ${CMAKE_CURRENT_SOURCE_DIR}/bench_node.c)
target_include_directories(bench_node PRIVATE ${PROJECT_SOURCE_DIR}/include)
target_compile_options(bench_node PRIVATE ${PHR_WARNINGS} -Wno-missing-prototypes)
target_link_libraries(bench_node PRIVATE PkgConfig::CURL Threads::Threads)
