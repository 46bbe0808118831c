# recovery and backup (module phr): key share documents and backup bundles.
phr_fuzzer(recovery_share SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/recovery_share.c LIBS phr_phr)
phr_fuzzer(backup_bundle SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/backup_bundle.c LIBS phr_phr)
