# emergency escrow (module phr): deposits, release requests and manifests an escrow node
# parses; release answers and sealed shares a provider's client parses.
phr_fuzzer(escrow_deposit SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/escrow_deposit.c LIBS phr_phr)
phr_fuzzer(escrow_share SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/escrow_share.c LIBS phr_phr)
