# Warnings for every target: -Wall -Wextra, and -Werror unless HVM_WERROR=OFF.
add_compile_options(-Wall -Wextra -Wshadow -Wstrict-prototypes -Wvla -Wformat=2
                    -Wno-unused-parameter -Wmissing-prototypes)
if(HVM_WERROR)
  add_compile_options(-Werror)
endif()
