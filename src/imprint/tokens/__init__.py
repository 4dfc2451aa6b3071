"""What a base model's tokenizer can tell without the model: which words it knows, how much of a
prompt it reads. Torch-free, so API processes can check requests at submission."""

from imprint.tokens.known_words import is_known_word
from imprint.tokens.vocabulary import PromptReading, Vocabulary, load_vocabulary

__all__ = ["PromptReading", "Vocabulary", "is_known_word", "load_vocabulary"]
