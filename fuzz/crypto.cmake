# crypto fuzz targets
phr_fuzzer(keystore_json SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/keystore_json.c LIBS phr_crypto)
