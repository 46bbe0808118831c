# Fuzz targets of the state engine (src/chain/state*.c, trie.c).
phr_fuzzer(state_exec SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/state_exec.c LIBS phr_chain)
phr_fuzzer(trie_ops SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/trie_ops.c LIBS phr_chain)
