# EVM precompiles 0x01..0x0a: first input byte picks the precompile.
phr_fuzzer(precompile_run SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/precompile_run.c LIBS phr_evm)
