# Crypto throughput benchmark (built, never run by CTest): bench/crypto.sh runs it.
add_executable(bench_crypto ${CMAKE_CURRENT_SOURCE_DIR}/bench_crypto.c)
target_include_directories(bench_crypto PRIVATE ${PROJECT_SOURCE_DIR}/include)
target_compile_options(bench_crypto PRIVATE ${PHR_WARNINGS} -Wno-missing-prototypes)
target_link_libraries(bench_crypto PRIVATE phr_crypto phr_core PkgConfig::NETTLE PkgConfig::SODIUM)
