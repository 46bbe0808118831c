# DICOM benchmark (built, never run by CTest): bench/dicom.sh runs it.
add_executable(bench_dicom ${CMAKE_CURRENT_SOURCE_DIR}/bench_dicom.c)
target_include_directories(bench_dicom PRIVATE ${PROJECT_SOURCE_DIR}/include)
target_compile_options(bench_dicom PRIVATE ${PHR_WARNINGS} -Wno-missing-prototypes)
target_link_libraries(bench_dicom PRIVATE phr_dicom phr_core)
