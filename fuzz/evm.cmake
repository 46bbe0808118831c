# EVM fuzz targets: arbitrary bytecode through the interpreter with the test host.
phr_fuzzer(evm_exec SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/evm_exec.c
  LIBS phr_evm phr_eth phr_crypto phr_core)
