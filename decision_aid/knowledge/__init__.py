"""The knowledge and its language: the files of rules/, the input fields, the condition
language and its one Python reading, the loader and checker, the words for people that come
from it (labels), and the searchable catalogue."""
