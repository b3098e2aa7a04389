// The gateway's own card fields, behind one small interface. Today: Stripe.js's Card Element
// (localstripe serves a stand-in with the same calls in development). Card details are typed
// into the gateway's fields and go to the gateway; we only ever get back a token.

interface CardElement {
  mount(target: HTMLElement): void;
  destroy(): void;
}

interface StripeJs {
  elements(): { create(type: "card", options?: object): CardElement };
  confirmCardSetup(
    clientSecret: string,
    data: { payment_method: { card: CardElement } },
  ): Promise<{ setupIntent?: { payment_method: string }; error?: { message?: string } | null }>;
  confirmCardPayment(
    clientSecret: string,
  ): Promise<{ paymentIntent?: { status: string }; error?: { message?: string } | null }>;
}

declare global {
  interface Window {
    Stripe?: (publishableKey: string) => StripeJs;
  }
}

export interface GatewayFields {
  gateway: string;
  publishable_key: string;
  js_url: string;
  card_fields_secret: string | null;
  payment_secret: string | null;
}

export class CardFieldsError extends Error {}

const scripts = new Map<string, Promise<void>>();

function loadScript(url: string): Promise<void> {
  let loading = scripts.get(url);
  if (!loading) {
    loading = new Promise<void>((resolve, reject) => {
      const script = document.createElement("script");
      script.src = url;
      script.async = true;
      script.onload = () => resolve();
      script.onerror = () => {
        scripts.delete(url);
        reject(new CardFieldsError("the payment form could not load"));
      };
      document.head.appendChild(script);
    });
    scripts.set(url, loading);
  }
  return loading;
}

export interface CardFields {
  /** Turn what was typed into a payment-method token (the gateway answers; we never see it). */
  tokenise(cardFieldsSecret: string): Promise<string>;
  /** Let the card's bank check the payer (3-D Secure), in the gateway's own window. */
  bankCheck(paymentSecret: string): Promise<void>;
  destroy(): void;
}

export async function mountCardFields(
  fields: GatewayFields,
  target: HTMLElement,
): Promise<CardFields> {
  await loadScript(fields.js_url);
  if (!window.Stripe) throw new CardFieldsError("the payment form could not load");
  const stripe = window.Stripe(fields.publishable_key);
  const card = stripe.elements().create("card", { hidePostalCode: true });
  card.mount(target);
  return {
    async tokenise(cardFieldsSecret) {
      const result = await stripe.confirmCardSetup(cardFieldsSecret, { payment_method: { card } });
      if (result.error || !result.setupIntent) {
        throw new CardFieldsError(result.error?.message ?? "the card could not be used");
      }
      return result.setupIntent.payment_method;
    },
    async bankCheck(paymentSecret) {
      const result = await stripe.confirmCardPayment(paymentSecret);
      if (result.error)
        throw new CardFieldsError(result.error.message ?? "the bank's check failed");
    },
    destroy: () => card.destroy(),
  };
}
