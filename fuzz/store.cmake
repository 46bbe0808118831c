# store module: CIDs, dag-pb/UnixFS, CAR reading, gateway request parsing.
phr_fuzzer(cid_parse SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/cid_parse.c LIBS phr_store)
phr_fuzzer(dagpb_decode SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/dagpb_decode.c LIBS phr_store)
phr_fuzzer(car_read SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/car_read.c LIBS phr_store)
phr_fuzzer(gateway_request SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/gateway_request.c LIBS phr_store)
phr_fuzzer(store_wal SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/store_wal.c LIBS phr_store)
phr_fuzzer(store_pack SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/store_pack.c LIBS phr_store)
phr_fuzzer(store_index SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/store_index.c LIBS phr_store)
