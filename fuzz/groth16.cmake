# zk: the snarkjs verification-key / proof / public-signal parsers of the native Groth16
# verifier (include/phr/groth16.h), and verification of whatever parses.
phr_fuzzer(groth16_json SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/groth16_json.c LIBS phr_privacy phr_evm)
