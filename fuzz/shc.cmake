phr_fuzzer(shc_verify SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/shc_verify.c LIBS phr_shc)
