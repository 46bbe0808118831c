phr_fuzzer(hex_decode SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/hex_decode.c LIBS phr_core)
phr_fuzzer(base32_decode SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/base32_decode.c LIBS phr_core)
phr_fuzzer(varint_decode SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/varint_decode.c LIBS phr_core)
