/**
 * HTML by tagged templates: every value put into a template is escaped unless it is
 * itself a template's result, so console text (untrusted: a guest prints what it
 * likes) can never become markup. Chosen over a template library (eta, handlebars,
 * nunjucks, preact-render-to-string were candidates): the page is a handful of
 * typed functions over one data model, escaping by default is what an engine's
 * auto-escape would give, and there is nothing to vendor or keep up to date.
 */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

/** Text trusted as markup: only for fragments this code builds itself (inline CSS and script). */
export function trusted(text: string): Html {
  return new Html(text);
}

function render(value: unknown): string {
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1]!;
  return new Html(out);
}
