# Sources are listed by hand (src/*/CMakeLists.txt, tests/CMakeLists.txt), not globbed; this
# check makes a .cpp that nobody listed fail the configure instead of going unbuilt in silence.
# The glob below only checks: CONFIGURE_DEPENDS re-runs it on every build, so a new file
# fails the next build, not just the next fresh configure.
#
#   migrate_check_listed_sources(TARGET DIRECTORY [EXCLUDE file...])
function(migrate_check_listed_sources target directory)
  cmake_parse_arguments(PARSE_ARGV 2 ARG "" "" "EXCLUDE")
  file(GLOB_RECURSE on_disk CONFIGURE_DEPENDS ${directory}/*.cpp)
  get_target_property(listed ${target} SOURCES)
  get_target_property(target_dir ${target} SOURCE_DIR)
  set(listed_absolute "")
  foreach(source IN LISTS listed)
    cmake_path(ABSOLUTE_PATH source BASE_DIRECTORY ${target_dir} NORMALIZE)
    list(APPEND listed_absolute ${source})
  endforeach()
  set(missing "")
  foreach(file IN LISTS on_disk)
    cmake_path(NORMAL_PATH file)
    cmake_path(RELATIVE_PATH file BASE_DIRECTORY ${directory} OUTPUT_VARIABLE relative)
    if(NOT file IN_LIST listed_absolute AND NOT relative IN_LIST ARG_EXCLUDE)
      file(RELATIVE_PATH shown ${PROJECT_SOURCE_DIR} ${file})
      list(APPEND missing ${shown})
    endif()
  endforeach()
  if(missing)
    list(JOIN missing "\n  " missing_lines)
    message(FATAL_ERROR "Not in any source list of ${target}:\n  ${missing_lines}\n"
                        "List each in the CMakeLists.txt of its folder (the one that builds ${target}).")
  endif()
endfunction()
