// What a student may type: the model's words as buttons that add a word to the input (templates/_partials.html:
// vocabulary). An unknown word is said in plain words beside the input (core/dom.js: showError).
import { $, el } from "../core/dom.js";
import { visibleToken } from "./plotly.js";

// Fills every `details.vocabulary` whose data-into is `into` with `words`; a click adds the word to the input and
// `submit` runs with the new text. A character model's tokens are added as they are (a space is a token, shown ␣).
// A vocabulary of more than `listed` tokens (a GPT-2's 50,257, which reads any text) is counted, not listed.
export function vocabulary(into, words, submit, listed = Infinity) {
  const characters = words.every((word) => word.length === 1);
  for (const box of document.querySelectorAll(`details.vocabulary[data-into="${into}"]`)) {
    box.querySelector(".vocab-count").textContent = `(${words.length.toLocaleString("en")})`;
    if (words.length > listed) {
      const said = `Too many to list: type any text, and its tokenizer cuts it into pieces of these ${words.length.toLocaleString("en")}.`;
      box.querySelector(".vocab-words").replaceChildren(el("p", { className: "note" }, said));
      continue;
    }
    box.querySelector(".vocab-words").replaceChildren(...words.map((word) => {
      const button = el("button", { type: "button", className: "word" }, visibleToken(word));
      button.addEventListener("click", () => {
        const input = $(into);
        input.value = characters ? `${input.value}${word}` : `${input.value.trimEnd()} ${word}`.trimStart();
        submit(input.value);
      });
      return button;
    }));
  }
}
