# contracts module: the generated result and event decoders over arbitrary input.
phr_fuzzer(contracts_decode SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/contracts_decode.c LIBS phr_contracts)
