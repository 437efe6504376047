# Turns a text file into a C++ raw string literal: cmake -DIN=file -DOUT=file.inc -P embed_text.cmake
file(READ ${IN} CONTENT)
file(WRITE ${OUT} "R\"vmspace_embed(${CONTENT})vmspace_embed\"\n")
