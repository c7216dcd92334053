/** Labelled form fields (every input has a visible label; hints are tied with aria-describedby). */
import { checked, inputValue } from './components';

export function TextField({
  id,
  label,
  value,
  onValue,
  placeholder,
  hint,
  required,
  type = 'text',
  wide,
}: {
  id: string;
  label: string;
  value: string | number | undefined;
  onValue: (v: string) => void;
  placeholder?: string;
  hint?: string;
  required?: boolean;
  type?: 'text' | 'number';
  wide?: boolean;
}) {
  return (
    <div class={wide ? 'field wide' : 'field'}>
      <label for={id}>{label}</label>
      {type === 'number' ? (
        <input
          id={id}
          type="number"
          value={value ?? ''}
          placeholder={placeholder}
          required={required}
          aria-describedby={hint ? `${id}-hint` : undefined}
          onInput={(e) => onValue(inputValue(e))}
        />
      ) : (
        <input
          id={id}
          type="text"
          value={value ?? ''}
          placeholder={placeholder}
          required={required}
          aria-describedby={hint ? `${id}-hint` : undefined}
          onInput={(e) => onValue(inputValue(e))}
        />
      )}
      {hint && (
        <small id={`${id}-hint`} class="hint">
          {hint}
        </small>
      )}
    </div>
  );
}

export function CheckField({
  id,
  label,
  value,
  onValue,
  hint,
}: {
  id: string;
  label: string;
  value: boolean;
  onValue: (v: boolean) => void;
  hint?: string;
}) {
  return (
    <div class="check">
      <input
        id={id}
        type="checkbox"
        checked={value}
        aria-describedby={hint ? `${id}-hint` : undefined}
        onChange={(e) => onValue(checked(e))}
      />
      <label for={id}>{label}</label>
      {hint && (
        <small id={`${id}-hint`} class="hint">
          {hint}
        </small>
      )}
    </div>
  );
}

export function SelectField({
  id,
  label,
  value,
  options,
  onValue,
  hint,
}: {
  id: string;
  label: string;
  value: string;
  options: [string, string][];
  onValue: (v: string) => void;
  hint?: string;
}) {
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <select id={id} value={value} aria-describedby={hint ? `${id}-hint` : undefined} onChange={(e) => onValue(inputValue(e))}>
        {options.map(([v, text]) => (
          <option value={v}>{text}</option>
        ))}
      </select>
      {hint && (
        <small id={`${id}-hint`} class="hint">
          {hint}
        </small>
      )}
    </div>
  );
}

export function TextArea({
  id,
  label,
  value,
  onValue,
  rows = 4,
  hint,
  readOnly,
  nowrap,
}: {
  id: string;
  label: string;
  value: string;
  onValue?: (v: string) => void;
  rows?: number;
  hint?: string;
  readOnly?: boolean;
  nowrap?: boolean;
}) {
  return (
    <div class="field wide">
      <label for={id}>{label}</label>
      <textarea
        id={id}
        rows={rows}
        value={value}
        readOnly={readOnly}
        wrap={nowrap ? 'off' : undefined}
        spellcheck={false}
        aria-describedby={hint ? `${id}-hint` : undefined}
        onInput={(e) => onValue?.(inputValue(e))}
      />
      {hint && (
        <small id={`${id}-hint`} class="hint">
          {hint}
        </small>
      )}
    </div>
  );
}
