# dicom module: the Part 10 parser and the JSON/metadata built on it.
phr_fuzzer(dicom_parse SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/dicom_parse.c LIBS phr_dicom)
