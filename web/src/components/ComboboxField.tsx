import { useMemo, useState, type ChangeEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { useCombobox, type UseComboboxState, type UseComboboxStateChangeOptions, type UseComboboxStateChangeTypes } from 'downshift';
import { matchOptions, type ComboboxOption } from './matchOptions.ts';

type ComboboxFieldProps = {
  id: string;
  label: string;
  /** The value chosen ('' for none). */
  value: string;
  onChange: (value: string) => void;
  /** The choices, in the order shown when nothing is typed. */
  options: readonly ComboboxOption[];
  error?: string | undefined;
  /** Said under the box and read with it: about the choice made (how long the examination takes). */
  note?: string | undefined;
  required?: boolean;
};

const itemToString = (option: ComboboxOption | null) => option?.label ?? '';
// With the label in the key, a language switch counts as a new choice, so the box shows its new name.
const itemToKey = (option: ComboboxOption | null) => (option ? `${option.value}\n${option.label}` : null);

const { InputBlur, InputClick, InputKeyDownEnter, InputKeyDownEscape, ToggleButtonClick } = useCombobox.stateChangeTypes;
const closings: readonly UseComboboxStateChangeTypes[] = [InputBlur, InputClick, InputKeyDownEnter, ToggleButtonClick];

/**
 * Whenever the list closes (the box left: Tab chooses the highlighted option, a click elsewhere
 * does not; Enter; a click on the box or its button), the box shows the choice it holds, never text
 * that is not what would be sent. Escape closes the list the same way, and never drops the choice
 * (downshift's Escape on a closed list would clear it).
 */
function stateReducer(state: UseComboboxState<ComboboxOption>, { type, changes }: UseComboboxStateChangeOptions<ComboboxOption>): Partial<UseComboboxState<ComboboxOption>> {
  if (type === InputKeyDownEscape) return { ...changes, selectedItem: state.selectedItem, inputValue: itemToString(state.selectedItem) };
  if (closings.includes(type) && !changes.isOpen) return { ...changes, inputValue: itemToString(changes.selectedItem ?? null) };
  return changes;
}

/**
 * The option chosen, the text in the box and the options it matches. When the choice changes from
 * outside (the form reset, the language switched), the box shows it: kept here rather than left to
 * downshift's own tracking of a controlled selectedItem, which misses a reset when a mouse leaving
 * the list was handled between a click's choice and the form's render.
 */
function useTypedChoice(options: readonly ComboboxOption[], value: string) {
  const selected = useMemo(() => options.find((option) => option.value === value) ?? null, [options, value]);
  const [text, setText] = useState(selected?.label ?? '');
  const [shownKey, setShownKey] = useState(itemToKey(selected));
  if (itemToKey(selected) !== shownKey) {
    setShownKey(itemToKey(selected));
    setText(selected?.label ?? '');
  }
  // The chosen option's own name lists everything, so that opening the list shows every choice.
  const shown = useMemo(() => matchOptions(options, selected && text === selected.label ? '' : text), [options, selected, text]);
  return { selected, text, setText, shown };
}

/**
 * A labelled choice from a list that the typing filters (the WAI-ARIA combobox with a listbox
 * popup, by downshift's useCombobox: the focus stays in the box, the arrow keys move the highlight,
 * Enter or a click chooses, Escape closes). What is typed matches any of an option's terms (its
 * code, its Korean and English names, its aliases), whatever the console's language; each option
 * shows its name with its code beside it. Its error, its note and the required marker are tied to
 * it as Field ties a text field's.
 */
export function ComboboxField({ id, label, value, onChange, options, error, note, required = false }: ComboboxFieldProps) {
  const { t } = useTranslation();
  const { selected, text, setText, shown } = useTypedChoice(options, value);
  const { isOpen, highlightedIndex, getLabelProps, getInputProps, getToggleButtonProps, getMenuProps, getItemProps } = useCombobox({
    items: shown,
    itemToString,
    itemToKey,
    selectedItem: selected,
    inputValue: text,
    // The first match is highlighted as the user types, so Enter chooses it.
    defaultHighlightedIndex: 0,
    inputId: id,
    labelId: `${id}-label`,
    menuId: `${id}-choices`,
    toggleButtonId: `${id}-toggle`,
    getItemId: (index) => `${id}-choice-${index}`,
    stateReducer,
    onInputValueChange: ({ inputValue }) => setText(inputValue ?? ''),
    onSelectedItemChange: ({ selectedItem }) => onChange(selectedItem?.value ?? ''),
  });
  const noteId = `${id}-note`;
  const errorId = `${id}-error`;
  const describedBy = [note ? noteId : null, error ? errorId : null].filter(Boolean).join(' ') || undefined;
  const listed = isOpen && shown.length > 0;
  // The highlight outlives the options that typing filtered away: then the box points to no option.
  const pointsToNone = listed && highlightedIndex < shown.length ? {} : { 'aria-activedescendant': '' };
  // What is typed is taken in the keystroke's own render: left to onInputValueChange alone (called
  // from an effect), the box would be drawn once more with the old text, and a fast typist's next
  // letter would land after it.
  const typed = (event: ChangeEvent<HTMLInputElement>) => setText(event.target.value);

  return (
    <div className={`field combobox${error ? ' field-invalid' : ''}`}>
      <label {...getLabelProps()}>
        {label}
        <span className="field-marker"> {required ? t('common.required') : t('common.optional')}</span>
      </label>
      <div className="combobox-box">
        <input {...getInputProps({ name: id, spellCheck: false, 'aria-invalid': error ? true : undefined, 'aria-describedby': describedBy, 'aria-required': required || undefined, onChange: typed, ...pointsToNone })} />
        <button type="button" className="combobox-toggle" {...getToggleButtonProps({ 'aria-label': t('common.combobox.toggle') })}>
          <span aria-hidden="true">▾</span>
        </button>
        {/* Named apart from the field's label, which names the box: a search for the label finds the box alone. */}
        <ul className="combobox-choices" hidden={!listed} {...getMenuProps({ 'aria-label': t('common.combobox.choices') })}>
          {listed &&
            shown.map((option, index) => (
              <li key={option.value} className={`combobox-choice${option.value === value ? ' chosen' : ''}`} data-value={option.value} {...getItemProps({ item: option, index })}>
                <span className="combobox-choice-label">{option.label}</span> <span className="combobox-choice-code">{option.value}</span>
              </li>
            ))}
        </ul>
      </div>
      <p className="combobox-status" aria-live="polite">
        {isOpen && shown.length === 0 ? t('common.combobox.none', { text: text.trim() }) : ''}
      </p>
      {note && (
        <p id={noteId} className="field-hint">
          {note}
        </p>
      )}
      {error && (
        <p id={errorId} className="field-error">
          {error}
        </p>
      )}
    </div>
  );
}
