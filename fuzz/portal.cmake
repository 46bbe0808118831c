# the portal's static files (src/api/portal.c): request paths, methods and headers.
phr_fuzzer(portal_request SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/portal_request.c LIBS phr_api)
target_include_directories(replay_portal_request PRIVATE ${PROJECT_SOURCE_DIR}/src/api)
if(PHR_FUZZ)
  target_include_directories(fuzz_portal_request PRIVATE ${PROJECT_SOURCE_DIR}/src/api)
endif()
