# eth module fuzz targets: strict RLP, ABI and transaction decoders.
phr_fuzzer(rlp_decode SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/rlp_decode.c LIBS phr_eth)
phr_fuzzer(abi_decode SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/abi_decode.c LIBS phr_eth)
phr_fuzzer(tx_decode SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/tx_decode.c LIBS phr_eth)
