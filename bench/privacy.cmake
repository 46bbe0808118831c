# Privacy benchmarks (built, never run by CTest): bench/privacy.sh runs them.
foreach(b bench_pprl bench_he)
  if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${b}.c)
    add_executable(${b} ${CMAKE_CURRENT_SOURCE_DIR}/${b}.c)
    target_include_directories(${b} PRIVATE ${PROJECT_SOURCE_DIR}/include)
    target_compile_options(${b} PRIVATE ${PHR_WARNINGS} -Wno-missing-prototypes)
    target_link_libraries(${b} PRIVATE phr_privacy phr_core PkgConfig::SODIUM m)
  endif()
endforeach()
