# Fuzz targets of the chain module.
phr_fuzzer(rpc_request SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/rpc_request.c LIBS phr_chain)
phr_fuzzer(rpc_response SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/rpc_response.c LIBS phr_chain)
phr_fuzzer(rpc_node SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/rpc_node.c LIBS phr_chain)
