# Writes build_info.json (run with cmake -P at every build). Only rewrites the file when its
# content changes, so it never triggers needless relinks.
find_package(Git QUIET)
set(revision "unknown")
set(dirty "null")
if(GIT_FOUND)
  execute_process(COMMAND ${GIT_EXECUTABLE} rev-parse HEAD WORKING_DIRECTORY ${SOURCE_DIR}
                  OUTPUT_VARIABLE rev RESULT_VARIABLE rc OUTPUT_STRIP_TRAILING_WHITESPACE
                  ERROR_QUIET)
  if(rc EQUAL 0)
    set(revision "${rev}")
    execute_process(COMMAND ${GIT_EXECUTABLE} status --porcelain --untracked-files=no
                    WORKING_DIRECTORY ${SOURCE_DIR} OUTPUT_VARIABLE status ERROR_QUIET)
    if(status STREQUAL "")
      set(dirty "false")
    else()
      set(dirty "true")
    endif()
  endif()
endif()
string(REPLACE "\"" "\\\"" FLAGS "${FLAGS}")
set(content "{
  \"compiler\": \"${COMPILER}\",
  \"compiler_path\": \"${COMPILER_PATH}\",
  \"flags\": \"${FLAGS}\",
  \"build_type\": \"${BUILD_TYPE}\",
  \"sanitizer\": \"${SANITIZER}\",
  \"git_revision\": \"${revision}\",
  \"git_dirty\": ${dirty}
}
")
set(old "")
if(EXISTS ${OUT})
  file(READ ${OUT} old)
endif()
if(NOT old STREQUAL content)
  file(WRITE ${OUT} "${content}")
endif()
