# contracts module: the generated result and event decoders over arbitrary input; the direct
# result decoders against phr_abi_decode (differential).
phr_fuzzer(contracts_decode SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/contracts_decode.c LIBS phr_contracts)
phr_fuzzer(contracts_direct SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/contracts_direct.c LIBS phr_contracts)
