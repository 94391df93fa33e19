//! The hosted page's languages: every string of the checkout page, of the page a
//! closed checkout shows and of the 3-D Secure and PayPal stand-ins, in English, German, French, Spanish, Dutch, Italian and Japanese, and
//! amounts written as each language writes them (`€48.00` in English, `48,00 €` in German and
//! French).
//!
//! The session's `locale` picks the language; `auto` (or none) follows the browser's
//! `Accept-Language`; a language the page is not written in falls back to English. Messages that
//! come from the rules (a declined card, a promotion code that does not apply) and the error pages
//! stay in English.

pub mod portal;

use kassa_core::money::Currency;
use kassa_core::session::collection::{Collection, Field, FieldError};

/// Every string of the pages, in one language.
pub struct Strings {
    pub lang: &'static str,
    pub back: &'static str,
    pub order_summary: &'static str,
    pub test_mode: &'static str,
    pub update_quantities: &'static str,
    pub qty: &'static str,
    pub quantity_of: &'static str,
    pub decrease: &'static str,
    pub increase: &'static str,
    /// `{n}`: the trial's days.
    pub day_trial: &'static str,
    pub promotion_code: &'static str,
    pub apply: &'static str,
    pub subtotal: &'static str,
    pub discount: &'static str,
    pub remove: &'static str,
    pub shipping: &'static str,
    pub due_today: &'static str,
    pub total: &'static str,
    /// `{n}` days, `{amount}` and `{interval}`.
    pub trial_notice: &'static str,
    pub contact: &'static str,
    pub email: &'static str,
    pub name: &'static str,
    pub phone: &'static str,
    pub shipping_address: &'static str,
    pub billing_address: &'static str,
    pub full_name: &'static str,
    pub line1: &'static str,
    pub line2: &'static str,
    pub city: &'static str,
    pub postal_code: &'static str,
    pub state: &'static str,
    pub country: &'static str,
    pub shipping_method: &'static str,
    pub update_shipping: &'static str,
    /// Taxes: the totals row, the no-JS button that applies the address, and the
    /// row's value until an address is known.
    pub tax: &'static str,
    pub update_tax: &'static str,
    pub tax_pending: &'static str,
    pub tax_id: &'static str,
    pub tax_id_type: &'static str,
    pub optional: &'static str,
    pub choose: &'static str,
    pub payment: &'static str,
    pub payment_method: &'static str,
    pub card: &'static str,
    pub bank_transfer: &'static str,
    pub card_number: &'static str,
    pub expiry: &'static str,
    pub cvc: &'static str,
    pub terms: &'static str,
    pub promotions: &'static str,
    /// `{amount}`.
    pub pay: &'static str,
    /// Setup mode's button: the card is saved, nothing is charged.
    pub save_card: &'static str,
    pub subscribe: &'static str,
    pub start_trial: &'static str,
    pub book: &'static str,
    pub donate: &'static str,
    /// `{field}`.
    pub missing: &'static str,
    pub malformed: &'static str,
    pub accept_terms: &'static str,
    pub per: &'static str,
    pub every: &'static str,
    pub day: &'static str,
    pub week: &'static str,
    pub month: &'static str,
    pub year: &'static str,
    pub days: &'static str,
    pub weeks: &'static str,
    pub months: &'static str,
    pub years: &'static str,
    pub expired: &'static str,
    pub complete: &'static str,
    pub placed: &'static str,
    pub transfer_heading: &'static str,
    /// `{amount}`, `{merchant}`.
    pub transfer_body: &'static str,
    pub continue_: &'static str,
    pub confirm_title: &'static str,
    /// `{amount}`, `{merchant}`.
    pub confirm_body: &'static str,
    pub test_network: &'static str,
    pub complete_auth: &'static str,
    pub fail_auth: &'static str,
    pub stand_in: &'static str,
    /// `{amount}`, `{merchant}`.
    pub paypal_body: &'static str,
    pub paypal_as: &'static str,
    pub approve: &'static str,
    pub cancel_return: &'static str,
    /// The script's messages when the server cannot be reached.
    pub network_error: &'static str,
    pub quantity_network_error: &'static str,
    /// The checkbox that copies the shipping address into the billing address.
    pub same_as_shipping: &'static str,
}

pub const EN: Strings = Strings {
    lang: "en",
    back: "Back",
    order_summary: "Order summary",
    test_mode: "Test mode",
    update_quantities: "Update quantities",
    qty: "Qty",
    quantity_of: "Quantity of",
    decrease: "Decrease quantity of",
    increase: "Increase quantity of",
    day_trial: "{n}-day free trial",
    promotion_code: "Promotion code",
    apply: "Apply",
    subtotal: "Subtotal",
    discount: "Discount",
    remove: "Remove",
    shipping: "Shipping",
    due_today: "Due today",
    total: "Total",
    trial_notice: "{n}-day free trial: you pay {amount} {interval} after it ends.",
    contact: "Contact",
    email: "Email",
    name: "Name",
    phone: "Phone",
    shipping_address: "Shipping address",
    billing_address: "Billing address",
    full_name: "Full name",
    line1: "Address",
    line2: "Address line 2",
    city: "City",
    postal_code: "Postal code",
    state: "State or region",
    country: "Country",
    shipping_method: "Shipping method",
    update_shipping: "Update shipping",
    tax: "Tax",
    update_tax: "Update tax",
    tax_pending: "Calculated from your address",
    tax_id: "Tax ID",
    tax_id_type: "Tax ID type",
    optional: "optional",
    choose: "Choose…",
    payment: "Payment",
    payment_method: "Payment method",
    card: "Card",
    bank_transfer: "Bank transfer",
    card_number: "Card number",
    expiry: "Expiry (MM/YY)",
    cvc: "CVC",
    terms: "I agree to the terms of service.",
    promotions: "Send me news and offers by email.",
    pay: "Pay {amount}",
    save_card: "Save card",
    subscribe: "Subscribe · {amount}",
    start_trial: "Start trial",
    book: "Book · {amount}",
    donate: "Donate {amount}",
    missing: "Enter {field}.",
    malformed: "{field} is not valid.",
    accept_terms: "Accept the terms of service to continue.",
    per: "per",
    every: "every",
    day: "day",
    week: "week",
    month: "month",
    year: "year",
    days: "days",
    weeks: "weeks",
    months: "months",
    years: "years",
    expired: "This checkout has expired. Nothing was charged. Return to {merchant} to start again.",
    complete: "Thank you! This checkout is complete.",
    placed: "Your order is placed. It is paid once your bank transfer arrives.",
    transfer_heading: "Pay by bank transfer",
    transfer_body: "Transfer {amount} to {merchant} and quote this reference, so that the payment is matched to your order:",
    continue_: "Continue",
    confirm_title: "Confirm your payment",
    confirm_body: "Your bank asks you to confirm this payment of {amount} to {merchant}.",
    test_network: "This is kassa's test network: choose what your bank would answer.",
    complete_auth: "Complete authentication",
    fail_auth: "Fail authentication",
    stand_in: "kassa test stand-in",
    paypal_body: "Pay {amount} to {merchant}",
    paypal_as: "as",
    approve: "Approve payment",
    cancel_return: "Cancel and return",
    network_error: "Could not reach the server. Check your connection and try again.",
    quantity_network_error: "Could not update the quantity. Try again.",
    same_as_shipping: "Billing address same as shipping",
};

pub const DE: Strings = Strings {
    lang: "de",
    back: "Zurück",
    order_summary: "Bestellübersicht",
    test_mode: "Testmodus",
    update_quantities: "Mengen aktualisieren",
    qty: "Menge",
    quantity_of: "Menge von",
    decrease: "Menge verringern:",
    increase: "Menge erhöhen:",
    day_trial: "{n} Tage kostenlos testen",
    promotion_code: "Gutscheincode",
    apply: "Einlösen",
    subtotal: "Zwischensumme",
    discount: "Rabatt",
    remove: "Entfernen",
    shipping: "Versand",
    due_today: "Heute fällig",
    total: "Gesamt",
    trial_notice: "{n} Tage kostenlos: danach zahlen Sie {amount} {interval}.",
    contact: "Kontakt",
    email: "E-Mail",
    name: "Name",
    phone: "Telefon",
    shipping_address: "Lieferadresse",
    billing_address: "Rechnungsadresse",
    full_name: "Vollständiger Name",
    line1: "Adresse",
    line2: "Adresszusatz",
    city: "Ort",
    postal_code: "Postleitzahl",
    state: "Bundesland oder Region",
    country: "Land",
    shipping_method: "Versandart",
    update_shipping: "Versand aktualisieren",
    tax: "Steuer",
    update_tax: "Steuer aktualisieren",
    tax_pending: "Wird aus Ihrer Adresse berechnet",
    tax_id: "Steuernummer",
    tax_id_type: "Art der Steuernummer",
    optional: "optional",
    choose: "Auswählen…",
    payment: "Zahlung",
    payment_method: "Zahlungsart",
    card: "Karte",
    bank_transfer: "Banküberweisung",
    card_number: "Kartennummer",
    expiry: "Gültig bis (MM/JJ)",
    cvc: "Prüfnummer",
    terms: "Ich stimme den Nutzungsbedingungen zu.",
    promotions: "Schicken Sie mir Neuigkeiten und Angebote per E-Mail.",
    pay: "{amount} zahlen",
    save_card: "Karte speichern",
    subscribe: "Abonnieren · {amount}",
    start_trial: "Test starten",
    book: "Buchen · {amount}",
    donate: "{amount} spenden",
    missing: "Bitte {field} angeben.",
    malformed: "{field} ist ungültig.",
    accept_terms: "Bitte stimmen Sie den Nutzungsbedingungen zu.",
    per: "pro",
    every: "alle",
    day: "Tag",
    week: "Woche",
    month: "Monat",
    year: "Jahr",
    days: "Tage",
    weeks: "Wochen",
    months: "Monate",
    years: "Jahre",
    expired: "Dieser Bezahlvorgang ist abgelaufen. Es wurde nichts abgebucht. Kehren Sie zu {merchant} zurück, um neu zu beginnen.",
    complete: "Vielen Dank! Der Bezahlvorgang ist abgeschlossen.",
    placed: "Ihre Bestellung ist aufgegeben. Sie ist bezahlt, sobald Ihre Überweisung eingeht.",
    transfer_heading: "Per Banküberweisung zahlen",
    transfer_body: "Überweisen Sie {amount} an {merchant} mit diesem Verwendungszweck, damit die Zahlung Ihrer Bestellung zugeordnet wird:",
    continue_: "Weiter",
    confirm_title: "Zahlung bestätigen",
    confirm_body: "Ihre Bank bittet Sie, diese Zahlung von {amount} an {merchant} zu bestätigen.",
    test_network: "Dies ist das Testnetz von kassa: Wählen Sie, was Ihre Bank antworten würde.",
    complete_auth: "Authentifizierung abschließen",
    fail_auth: "Authentifizierung fehlschlagen lassen",
    stand_in: "Test-Platzhalter von kassa",
    paypal_body: "{amount} an {merchant} zahlen",
    paypal_as: "als",
    approve: "Zahlung genehmigen",
    cancel_return: "Abbrechen und zurück",
    network_error: "Der Server ist nicht erreichbar. Prüfen Sie Ihre Verbindung und versuchen Sie es erneut.",
    quantity_network_error: "Die Menge konnte nicht geändert werden. Versuchen Sie es erneut.",
    same_as_shipping: "Rechnungsadresse wie Lieferadresse",
};

pub const FR: Strings = Strings {
    lang: "fr",
    back: "Retour",
    order_summary: "Récapitulatif de la commande",
    test_mode: "Mode test",
    update_quantities: "Mettre à jour les quantités",
    qty: "Qté",
    quantity_of: "Quantité de",
    decrease: "Diminuer la quantité de",
    increase: "Augmenter la quantité de",
    day_trial: "Essai gratuit de {n} jours",
    promotion_code: "Code promo",
    apply: "Appliquer",
    subtotal: "Sous-total",
    discount: "Remise",
    remove: "Retirer",
    shipping: "Livraison",
    due_today: "À payer aujourd’hui",
    total: "Total",
    trial_notice: "Essai gratuit de {n} jours : vous payez ensuite {amount} {interval}.",
    contact: "Contact",
    email: "E-mail",
    name: "Nom",
    phone: "Téléphone",
    shipping_address: "Adresse de livraison",
    billing_address: "Adresse de facturation",
    full_name: "Nom complet",
    line1: "Adresse",
    line2: "Complément d’adresse",
    city: "Ville",
    postal_code: "Code postal",
    state: "Région",
    country: "Pays",
    shipping_method: "Mode de livraison",
    update_shipping: "Mettre à jour la livraison",
    tax: "Taxe",
    update_tax: "Mettre à jour la taxe",
    tax_pending: "Calculée d'après votre adresse",
    tax_id: "Numéro fiscal",
    tax_id_type: "Type de numéro fiscal",
    optional: "facultatif",
    choose: "Choisir…",
    payment: "Paiement",
    payment_method: "Moyen de paiement",
    card: "Carte",
    bank_transfer: "Virement bancaire",
    card_number: "Numéro de carte",
    expiry: "Expiration (MM/AA)",
    cvc: "Cryptogramme",
    terms: "J’accepte les conditions d’utilisation.",
    promotions: "Envoyez-moi des nouvelles et des offres par e-mail.",
    pay: "Payer {amount}",
    save_card: "Enregistrer la carte",
    subscribe: "S’abonner · {amount}",
    start_trial: "Commencer l’essai",
    book: "Réserver · {amount}",
    donate: "Donner {amount}",
    missing: "Indiquez {field}.",
    malformed: "{field} n’est pas valide.",
    accept_terms: "Acceptez les conditions d’utilisation pour continuer.",
    per: "par",
    every: "tous les",
    day: "jour",
    week: "semaine",
    month: "mois",
    year: "an",
    days: "jours",
    weeks: "semaines",
    months: "mois",
    years: "ans",
    expired: "Ce paiement a expiré. Rien n’a été débité. Retournez sur {merchant} pour recommencer.",
    complete: "Merci ! Ce paiement est terminé.",
    placed: "Votre commande est passée. Elle sera payée à réception de votre virement.",
    transfer_heading: "Payer par virement",
    transfer_body: "Virez {amount} à {merchant} en indiquant cette référence, pour que le paiement soit rattaché à votre commande :",
    continue_: "Continuer",
    confirm_title: "Confirmez votre paiement",
    confirm_body: "Votre banque vous demande de confirmer ce paiement de {amount} à {merchant}.",
    test_network: "Ceci est le réseau de test de kassa : choisissez ce que répondrait votre banque.",
    complete_auth: "Terminer l’authentification",
    fail_auth: "Faire échouer l’authentification",
    stand_in: "substitut de test de kassa",
    paypal_body: "Payer {amount} à {merchant}",
    paypal_as: "en tant que",
    approve: "Approuver le paiement",
    cancel_return: "Annuler et revenir",
    network_error: "Impossible de joindre le serveur. Vérifiez votre connexion et réessayez.",
    quantity_network_error: "Impossible de modifier la quantité. Réessayez.",
    same_as_shipping: "Adresse de facturation identique à l’adresse de livraison",
};

pub const ES: Strings = Strings {
    lang: "es",
    back: "Volver",
    order_summary: "Resumen del pedido",
    test_mode: "Modo de prueba",
    update_quantities: "Actualizar cantidades",
    qty: "Cant.",
    quantity_of: "Cantidad de",
    decrease: "Reducir la cantidad de",
    increase: "Aumentar la cantidad de",
    day_trial: "Prueba gratuita de {n} días",
    promotion_code: "Código promocional",
    apply: "Aplicar",
    subtotal: "Subtotal",
    discount: "Descuento",
    remove: "Quitar",
    shipping: "Envío",
    due_today: "A pagar hoy",
    total: "Total",
    trial_notice: "Prueba gratuita de {n} días: después pagas {amount} {interval}.",
    contact: "Contacto",
    email: "Correo electrónico",
    name: "Nombre",
    phone: "Teléfono",
    shipping_address: "Dirección de envío",
    billing_address: "Dirección de facturación",
    full_name: "Nombre completo",
    line1: "Dirección",
    line2: "Línea 2 de la dirección",
    city: "Ciudad",
    postal_code: "Código postal",
    state: "Provincia o región",
    country: "País",
    shipping_method: "Método de envío",
    update_shipping: "Actualizar envío",
    tax: "Impuesto",
    update_tax: "Actualizar impuesto",
    tax_pending: "Se calcula según tu dirección",
    tax_id: "NIF",
    tax_id_type: "Tipo de NIF",
    optional: "opcional",
    choose: "Elegir…",
    payment: "Pago",
    payment_method: "Método de pago",
    card: "Tarjeta",
    bank_transfer: "Transferencia bancaria",
    card_number: "Número de tarjeta",
    expiry: "Caducidad (MM/AA)",
    cvc: "CVC",
    terms: "Acepto las condiciones del servicio.",
    promotions: "Enviadme noticias y ofertas por correo.",
    pay: "Pagar {amount}",
    save_card: "Guardar tarjeta",
    subscribe: "Suscribirse · {amount}",
    start_trial: "Empezar la prueba",
    book: "Reservar · {amount}",
    donate: "Donar {amount}",
    missing: "Introduce {field}.",
    malformed: "{field} no es válido.",
    accept_terms: "Acepta las condiciones del servicio para continuar.",
    per: "al",
    every: "cada",
    day: "día",
    week: "semana",
    month: "mes",
    year: "año",
    days: "días",
    weeks: "semanas",
    months: "meses",
    years: "años",
    expired: "Este pago ha caducado. No se ha cobrado nada. Vuelve a {merchant} para empezar de nuevo.",
    complete: "¡Gracias! El pago se ha completado.",
    placed: "Tu pedido está hecho. Quedará pagado cuando llegue tu transferencia.",
    transfer_heading: "Pagar por transferencia",
    transfer_body: "Transfiere {amount} a {merchant} indicando esta referencia, para que el pago se asocie a tu pedido:",
    continue_: "Continuar",
    confirm_title: "Confirma tu pago",
    confirm_body: "Tu banco te pide confirmar este pago de {amount} a {merchant}.",
    test_network: "Esta es la red de prueba de kassa: elige lo que respondería tu banco.",
    complete_auth: "Completar la autenticación",
    fail_auth: "Hacer fallar la autenticación",
    stand_in: "sustituto de prueba de kassa",
    paypal_body: "Pagar {amount} a {merchant}",
    paypal_as: "como",
    approve: "Aprobar el pago",
    cancel_return: "Cancelar y volver",
    network_error: "No se pudo contactar con el servidor. Comprueba tu conexión e inténtalo de nuevo.",
    quantity_network_error: "No se pudo actualizar la cantidad. Inténtalo de nuevo.",
    same_as_shipping: "La dirección de facturación es la misma que la de envío",
};

pub const NL: Strings = Strings {
    lang: "nl",
    back: "Terug",
    order_summary: "Besteloverzicht",
    test_mode: "Testmodus",
    update_quantities: "Aantallen bijwerken",
    qty: "Aantal",
    quantity_of: "Aantal van",
    decrease: "Aantal verlagen van",
    increase: "Aantal verhogen van",
    day_trial: "{n} dagen gratis proberen",
    promotion_code: "Kortingscode",
    apply: "Toepassen",
    subtotal: "Subtotaal",
    discount: "Korting",
    remove: "Verwijderen",
    shipping: "Verzending",
    due_today: "Vandaag te betalen",
    total: "Totaal",
    trial_notice: "{n} dagen gratis: daarna betaal je {amount} {interval}.",
    contact: "Contact",
    email: "E-mail",
    name: "Naam",
    phone: "Telefoon",
    shipping_address: "Verzendadres",
    billing_address: "Factuuradres",
    full_name: "Volledige naam",
    line1: "Adres",
    line2: "Adresregel 2",
    city: "Plaats",
    postal_code: "Postcode",
    state: "Provincie of regio",
    country: "Land",
    shipping_method: "Verzendmethode",
    update_shipping: "Verzending bijwerken",
    tax: "Belasting",
    update_tax: "Belasting bijwerken",
    tax_pending: "Berekend op basis van je adres",
    tax_id: "Btw-nummer",
    tax_id_type: "Soort btw-nummer",
    optional: "optioneel",
    choose: "Kiezen…",
    payment: "Betaling",
    payment_method: "Betaalmethode",
    card: "Kaart",
    bank_transfer: "Bankoverschrijving",
    card_number: "Kaartnummer",
    expiry: "Vervaldatum (MM/JJ)",
    cvc: "CVC",
    terms: "Ik ga akkoord met de servicevoorwaarden.",
    promotions: "Stuur me nieuws en aanbiedingen per e-mail.",
    pay: "{amount} betalen",
    save_card: "Kaart opslaan",
    subscribe: "Abonneren · {amount}",
    start_trial: "Proefperiode starten",
    book: "Boeken · {amount}",
    donate: "{amount} doneren",
    missing: "Vul {field} in.",
    malformed: "{field} is ongeldig.",
    accept_terms: "Ga akkoord met de servicevoorwaarden om verder te gaan.",
    per: "per",
    every: "elke",
    day: "dag",
    week: "week",
    month: "maand",
    year: "jaar",
    days: "dagen",
    weeks: "weken",
    months: "maanden",
    years: "jaar",
    expired: "Deze betaling is verlopen. Er is niets afgeschreven. Ga terug naar {merchant} om opnieuw te beginnen.",
    complete: "Bedankt! De betaling is voltooid.",
    placed: "Je bestelling is geplaatst. Ze is betaald zodra je overschrijving binnen is.",
    transfer_heading: "Betalen per overschrijving",
    transfer_body: "Maak {amount} over aan {merchant} met deze referentie, zodat de betaling bij je bestelling hoort:",
    continue_: "Doorgaan",
    confirm_title: "Bevestig je betaling",
    confirm_body: "Je bank vraagt je deze betaling van {amount} aan {merchant} te bevestigen.",
    test_network: "Dit is het testnetwerk van kassa: kies wat je bank zou antwoorden.",
    complete_auth: "Authenticatie voltooien",
    fail_auth: "Authenticatie laten mislukken",
    stand_in: "testvervanger van kassa",
    paypal_body: "{amount} betalen aan {merchant}",
    paypal_as: "als",
    approve: "Betaling goedkeuren",
    cancel_return: "Annuleren en terug",
    network_error: "De server is niet bereikbaar. Controleer je verbinding en probeer het opnieuw.",
    quantity_network_error: "Het aantal kon niet worden bijgewerkt. Probeer het opnieuw.",
    same_as_shipping: "Factuuradres is gelijk aan verzendadres",
};

pub const IT: Strings = Strings {
    lang: "it",
    back: "Indietro",
    order_summary: "Riepilogo dell’ordine",
    test_mode: "Modalità test",
    update_quantities: "Aggiorna quantità",
    qty: "Qtà",
    quantity_of: "Quantità di",
    decrease: "Riduci la quantità di",
    increase: "Aumenta la quantità di",
    day_trial: "Prova gratuita di {n} giorni",
    promotion_code: "Codice promozionale",
    apply: "Applica",
    subtotal: "Subtotale",
    discount: "Sconto",
    remove: "Rimuovi",
    shipping: "Spedizione",
    due_today: "Da pagare oggi",
    total: "Totale",
    trial_notice: "Prova gratuita di {n} giorni: poi paghi {amount} {interval}.",
    contact: "Contatto",
    email: "Email",
    name: "Nome",
    phone: "Telefono",
    shipping_address: "Indirizzo di spedizione",
    billing_address: "Indirizzo di fatturazione",
    full_name: "Nome e cognome",
    line1: "Indirizzo",
    line2: "Riga 2 dell’indirizzo",
    city: "Città",
    postal_code: "CAP",
    state: "Provincia o regione",
    country: "Paese",
    shipping_method: "Metodo di spedizione",
    update_shipping: "Aggiorna spedizione",
    tax: "Imposta",
    update_tax: "Aggiorna imposta",
    tax_pending: "Calcolata in base al tuo indirizzo",
    tax_id: "Partita IVA",
    tax_id_type: "Tipo di identificativo fiscale",
    optional: "facoltativo",
    choose: "Scegli…",
    payment: "Pagamento",
    payment_method: "Metodo di pagamento",
    card: "Carta",
    bank_transfer: "Bonifico bancario",
    card_number: "Numero della carta",
    expiry: "Scadenza (MM/AA)",
    cvc: "CVC",
    terms: "Accetto i termini di servizio.",
    promotions: "Inviatemi novità e offerte via email.",
    pay: "Paga {amount}",
    save_card: "Salva carta",
    subscribe: "Abbonati · {amount}",
    start_trial: "Inizia la prova",
    book: "Prenota · {amount}",
    donate: "Dona {amount}",
    missing: "Inserisci {field}.",
    malformed: "{field} non è valido.",
    accept_terms: "Accetta i termini di servizio per continuare.",
    per: "al",
    every: "ogni",
    day: "giorno",
    week: "settimana",
    month: "mese",
    year: "anno",
    days: "giorni",
    weeks: "settimane",
    months: "mesi",
    years: "anni",
    expired: "Questo pagamento è scaduto. Non è stato addebitato nulla. Torna su {merchant} per ricominciare.",
    complete: "Grazie! Il pagamento è completato.",
    placed: "Il tuo ordine è stato effettuato. Sarà pagato all’arrivo del bonifico.",
    transfer_heading: "Paga con bonifico",
    transfer_body: "Bonifica {amount} a {merchant} indicando questo riferimento, così il pagamento viene abbinato al tuo ordine:",
    continue_: "Continua",
    confirm_title: "Conferma il pagamento",
    confirm_body: "La tua banca ti chiede di confermare questo pagamento di {amount} a {merchant}.",
    test_network: "Questa è la rete di test di kassa: scegli cosa risponderebbe la tua banca.",
    complete_auth: "Completa l’autenticazione",
    fail_auth: "Fai fallire l’autenticazione",
    stand_in: "sostituto di prova di kassa",
    paypal_body: "Paga {amount} a {merchant}",
    paypal_as: "come",
    approve: "Approva il pagamento",
    cancel_return: "Annulla e torna indietro",
    network_error: "Impossibile raggiungere il server. Controlla la connessione e riprova.",
    quantity_network_error: "Impossibile aggiornare la quantità. Riprova.",
    same_as_shipping: "Indirizzo di fatturazione uguale a quello di spedizione",
};

pub const JA: Strings = Strings {
    lang: "ja",
    back: "戻る",
    order_summary: "注文内容",
    test_mode: "テストモード",
    update_quantities: "数量を更新",
    qty: "数量",
    quantity_of: "数量：",
    decrease: "数量を減らす：",
    increase: "数量を増やす：",
    day_trial: "{n}日間の無料トライアル",
    promotion_code: "プロモーションコード",
    apply: "適用",
    subtotal: "小計",
    discount: "割引",
    remove: "削除",
    shipping: "配送料",
    due_today: "本日のお支払い",
    total: "合計",
    trial_notice: "{n}日間の無料トライアル終了後、{interval} {amount} をお支払いいただきます。",
    contact: "連絡先",
    email: "メールアドレス",
    name: "名前",
    phone: "電話番号",
    shipping_address: "配送先住所",
    billing_address: "請求先住所",
    full_name: "氏名",
    line1: "住所",
    line2: "住所（建物名・部屋番号）",
    city: "市区町村",
    postal_code: "郵便番号",
    state: "都道府県",
    country: "国",
    shipping_method: "配送方法",
    update_shipping: "配送方法を更新",
    tax: "税",
    update_tax: "税を更新",
    tax_pending: "住所から計算されます",
    tax_id: "税務ID",
    tax_id_type: "税務IDの種類",
    optional: "任意",
    choose: "選択してください",
    payment: "お支払い",
    payment_method: "お支払い方法",
    card: "カード",
    bank_transfer: "銀行振込",
    card_number: "カード番号",
    expiry: "有効期限（MM/YY）",
    cvc: "セキュリティコード",
    terms: "利用規約に同意します。",
    promotions: "ニュースやお得な情報をメールで受け取る。",
    pay: "{amount} を支払う",
    save_card: "カードを保存",
    subscribe: "申し込む · {amount}",
    start_trial: "トライアルを開始",
    book: "予約する · {amount}",
    donate: "{amount} を寄付する",
    missing: "{field}を入力してください。",
    malformed: "{field}が正しくありません。",
    accept_terms: "続けるには利用規約に同意してください。",
    per: "毎",
    every: "毎",
    day: "日",
    week: "週",
    month: "月",
    year: "年",
    days: "日",
    weeks: "週",
    months: "か月",
    years: "年",
    expired: "このお支払いは期限切れです。請求はされていません。{merchant} に戻ってやり直してください。",
    complete: "ありがとうございます。お支払いが完了しました。",
    placed: "ご注文を承りました。お振込みの確認後にお支払い済みとなります。",
    transfer_heading: "銀行振込でのお支払い",
    transfer_body: "{merchant} へ {amount} を、次の参照番号を記載してお振込みください：",
    continue_: "続ける",
    confirm_title: "お支払いの確認",
    confirm_body: "銀行から {merchant} への {amount} のお支払いの確認を求められています。",
    test_network: "これは kassa のテストネットワークです。銀行の応答を選んでください。",
    complete_auth: "認証を完了する",
    fail_auth: "認証を失敗させる",
    stand_in: "kassa のテスト用代替ページ",
    paypal_body: "{merchant} に {amount} を支払う",
    paypal_as: "アカウント：",
    approve: "支払いを承認",
    cancel_return: "キャンセルして戻る",
    network_error: "サーバーに接続できませんでした。接続を確認して、もう一度お試しください。",
    quantity_network_error: "数量を更新できませんでした。もう一度お試しください。",
    same_as_shipping: "請求先住所は配送先住所と同じ",
};

const ALL: [&Strings; 7] = [&EN, &DE, &FR, &ES, &NL, &IT, &JA];

/// A request's `Accept-Language`, cut to its first 200 bytes (no browser sends more; a longer
/// header is not worth parsing), for [`negotiate`].
pub fn accept_language(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map(|v| &v[..v.floor_char_boundary(200)])
}

/// The strings of a page with no `locale` to follow (the invoice page, a portal page without a
/// live session): the browser's language, by [`negotiate`].
pub fn browser_language(headers: &axum::http::HeaderMap) -> &'static Strings {
    negotiate(None, accept_language(headers))
}

/// The strings of the page's language: the session's `locale` when the page is written in it,
/// else (for `auto`, none, or a language it is not written in) the first of `Accept-Language`'s
/// that it is written in, else English.
pub fn negotiate(locale: Option<&str>, accept_language: Option<&str>) -> &'static Strings {
    let find = |tag: &str| {
        let primary = tag.split(['-', '_']).next().unwrap_or("").trim().to_ascii_lowercase();
        ALL.iter().copied().find(|s| s.lang == primary)
    };
    if let Some(l) = locale.filter(|l| *l != "auto") {
        return find(l).unwrap_or(&EN);
    }
    let mut offered: Vec<(f32, &'static Strings)> = accept_language
        .unwrap_or("")
        .split(',')
        .filter_map(|part| {
            let mut bits = part.split(';');
            let tag = bits.next()?.trim();
            let q = bits
                .find_map(|b| b.trim().strip_prefix("q=").and_then(|q| q.parse::<f32>().ok()))
                .unwrap_or(1.0);
            Some((q, find(tag)?))
        })
        .filter(|(q, _)| *q > 0.0)
        .collect();
    offered.sort_by(|a, b| b.0.total_cmp(&a.0));
    offered.first().map_or(&EN, |(_, s)| s)
}

impl Strings {
    /// `amount` minor units of `currency` as this language writes money.
    pub fn money(&self, currency: Currency, amount: i64) -> String {
        let exp = currency.exponent();
        let abs = amount.unsigned_abs();
        let div = 10u64.pow(exp);
        let (whole, frac) = (abs / div, abs % div);
        let (group, decimal) = match self.lang {
            "en" | "ja" => (",", "."),
            "fr" => ("\u{202f}", ","),
            _ => (".", ","),
        };
        let digits = whole.to_string();
        let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                grouped.push_str(group);
            }
            grouped.push(c);
        }
        let width = usize::try_from(exp).unwrap_or(2);
        let number = if exp == 0 { grouped } else { format!("{grouped}{decimal}{frac:0width$}") };
        let sign = if amount < 0 { "-" } else { "" };
        let code = currency.as_str().to_ascii_uppercase();
        let symbol = match currency.as_str() {
            "eur" => "€",
            "usd" => "$",
            "gbp" => "£",
            "jpy" => "¥",
            _ => code.as_str(),
        };
        let symbol_is_code = symbol.len() == 3 && symbol.is_ascii();
        match self.lang {
            "en" | "ja" if symbol_is_code => format!("{sign}{symbol}\u{a0}{number}"),
            "en" | "ja" => format!("{sign}{symbol}{number}"),
            "nl" => format!("{symbol}\u{a0}{sign}{number}"),
            _ => format!("{sign}{number}\u{a0}{symbol}"),
        }
    }

    /// How often a price bills: `per month`, `every 3 months`.
    pub fn interval(&self, interval: &str, count: u32) -> String {
        let (one, many) = match interval {
            "day" => (self.day, self.days),
            "week" => (self.week, self.weeks),
            "year" => (self.year, self.years),
            _ => (self.month, self.months),
        };
        match (self.lang, count) {
            ("ja", 1) => format!("{}{one}", self.per),
            ("ja", n) => format!("{n}{many}ごと"),
            (_, 1) => format!("{} {one}", self.per),
            (_, n) => format!("{} {n} {many}", self.every),
        }
    }

    /// The label of `field` on the page.
    pub fn field_label(&self, c: &Collection, field: Field) -> String {
        let own = |s: &str| s.to_owned();
        match field {
            Field::AddressLine1 => format!("{} ({})", self.line1, self.billing_address),
            Field::AddressCity => format!("{} ({})", self.city, self.billing_address),
            Field::AddressPostalCode => format!("{} ({})", self.postal_code, self.billing_address),
            Field::AddressCountry => format!("{} ({})", self.country, self.billing_address),
            Field::ShippingName => format!("{} ({})", self.full_name, self.shipping_address),
            Field::ShippingLine1 => format!("{} ({})", self.line1, self.shipping_address),
            Field::ShippingCity => format!("{} ({})", self.city, self.shipping_address),
            Field::ShippingPostalCode => format!("{} ({})", self.postal_code, self.shipping_address),
            Field::ShippingCountry => format!("{} ({})", self.country, self.shipping_address),
            Field::ShippingOption => own(self.shipping_method),
            Field::Phone => own(self.phone),
            Field::TaxIdType => own(self.tax_id_type),
            Field::TaxIdValue => own(self.tax_id),
            Field::Terms => own(self.terms),
            Field::Custom(i) => c.custom_fields.get(i).map_or_else(String::new, |f| f.label.clone()),
        }
    }

    /// What the page says about a field it refused.
    pub fn field_error(&self, c: &Collection, e: &FieldError) -> String {
        if e.field == Field::Terms {
            return self.accept_terms.to_owned();
        }
        let label = self.field_label(c, e.field);
        let template = if e.missing { self.missing } else { self.malformed };
        template.replace("{field}", &label)
    }
}

// ---------------------------------------------------------------------------------------------
// Messages from the rules and the error pages
// ---------------------------------------------------------------------------------------------

/// What the rules, the payment network and the error pages say to a customer, in English (as
/// the services write it) and in each other language, in the order of [`ALL`]. `{0}`, `{1}`:
/// parts of the English message carried over as they are (an amount, a number).
const RULES: &[[&str; 7]] = &[
    [
        "This code is not valid.",
        "Dieser Code ist ungültig.",
        "Ce code n’est pas valide.",
        "Este código no es válido.",
        "Deze code is niet geldig.",
        "Questo codice non è valido.",
        "このコードは無効です。",
    ],
    [
        "A payment is waiting for your approval. Complete or cancel it before changing your order.",
        "Eine Zahlung wartet auf Ihre Bestätigung. Schließen Sie sie ab oder brechen Sie sie ab, bevor Sie Ihre Bestellung ändern.",
        "Un paiement attend votre approbation. Terminez-le ou annulez-le avant de modifier votre commande.",
        "Hay un pago pendiente de tu aprobación. Complétalo o cancélalo antes de cambiar tu pedido.",
        "Een betaling wacht op je goedkeuring. Rond deze af of annuleer hem voordat je je bestelling wijzigt.",
        "Un pagamento è in attesa della tua approvazione. Completalo o annullalo prima di modificare l’ordine.",
        "お支払いの承認待ちです。ご注文を変更する前に、完了またはキャンセルしてください。",
    ],
    [
        "A payment for this checkout is in progress. Wait a moment and reload the page.",
        "Eine Zahlung für diesen Bestellvorgang läuft. Warten Sie einen Moment und laden Sie die Seite neu.",
        "Un paiement est en cours pour cette commande. Patientez un instant, puis rechargez la page.",
        "Hay un pago en curso para este pedido. Espera un momento y vuelve a cargar la página.",
        "Er loopt een betaling voor deze bestelling. Wacht even en laad de pagina opnieuw.",
        "È in corso un pagamento per questo ordine. Attendi un momento e ricarica la pagina.",
        "このお支払いは処理中です。しばらく待ってからページを再読み込みしてください。",
    ],
    [
        "A payment for this checkout is already in progress. Wait a moment and reload the page.",
        "Eine Zahlung für diesen Bestellvorgang läuft bereits. Warten Sie einen Moment und laden Sie die Seite neu.",
        "Un paiement est déjà en cours pour cette commande. Patientez un instant, puis rechargez la page.",
        "Ya hay un pago en curso para este pedido. Espera un momento y vuelve a cargar la página.",
        "Er loopt al een betaling voor deze bestelling. Wacht even en laad de pagina opnieuw.",
        "È già in corso un pagamento per questo ordine. Attendi un momento e ricarica la pagina.",
        "このお支払いはすでに処理中です。しばらく待ってからページを再読み込みしてください。",
    ],
    [
        "That item is not part of this checkout.",
        "Dieser Artikel gehört nicht zu dieser Bestellung.",
        "Cet article ne fait pas partie de cette commande.",
        "Ese artículo no forma parte de este pedido.",
        "Dat artikel hoort niet bij deze bestelling.",
        "Questo articolo non fa parte di questo ordine.",
        "この商品はこのご注文に含まれていません。",
    ],
    [
        "The quantity of this item cannot be changed.",
        "Die Menge dieses Artikels kann nicht geändert werden.",
        "La quantité de cet article ne peut pas être modifiée.",
        "La cantidad de este artículo no se puede cambiar.",
        "Het aantal van dit artikel kan niet worden gewijzigd.",
        "La quantità di questo articolo non può essere modificata.",
        "この商品の数量は変更できません。",
    ],
    [
        "The quantity must be between {0} and {1}.",
        "Die Menge muss zwischen {0} und {1} liegen.",
        "La quantité doit être comprise entre {0} et {1}.",
        "La cantidad debe estar entre {0} y {1}.",
        "Het aantal moet tussen {0} en {1} liggen.",
        "La quantità deve essere compresa tra {0} e {1}.",
        "数量は {0} から {1} の間で指定してください。",
    ],
    [
        "You can't remove the last item.",
        "Der letzte Artikel kann nicht entfernt werden.",
        "Vous ne pouvez pas retirer le dernier article.",
        "No puedes quitar el último artículo.",
        "Je kunt het laatste artikel niet verwijderen.",
        "Non puoi rimuovere l’ultimo articolo.",
        "最後の商品は削除できません。",
    ],
    [
        "This checkout does not take promotion codes.",
        "Für diese Bestellung können keine Aktionscodes verwendet werden.",
        "Cette commande n’accepte pas de code promotionnel.",
        "Este pedido no admite códigos promocionales.",
        "Voor deze bestelling kun je geen promotiecodes gebruiken.",
        "Questo ordine non accetta codici promozionali.",
        "このご注文ではプロモーションコードを使用できません。",
    ],
    [
        "This checkout already has a discount.",
        "Für diese Bestellung gilt bereits ein Rabatt.",
        "Cette commande bénéficie déjà d’une remise.",
        "Este pedido ya tiene un descuento.",
        "Deze bestelling heeft al een korting.",
        "Questo ordine ha già uno sconto.",
        "このご注文にはすでに割引が適用されています。",
    ],
    [
        "This discount was given by the merchant and cannot be removed.",
        "Dieser Rabatt wurde vom Händler gewährt und kann nicht entfernt werden.",
        "Cette remise a été accordée par le marchand et ne peut pas être retirée.",
        "Este descuento lo ha concedido el comercio y no se puede quitar.",
        "Deze korting is door de verkoper gegeven en kan niet worden verwijderd.",
        "Questo sconto è stato concesso dal venditore e non può essere rimosso.",
        "この割引は販売者によるもので、削除できません。",
    ],
    [
        "This promotion code is not active.",
        "Dieser Aktionscode ist nicht aktiv.",
        "Ce code promotionnel n’est pas actif.",
        "Este código promocional no está activo.",
        "Deze promotiecode is niet actief.",
        "Questo codice promozionale non è attivo.",
        "このプロモーションコードは有効ではありません。",
    ],
    [
        "This promotion code has expired.",
        "Dieser Aktionscode ist abgelaufen.",
        "Ce code promotionnel a expiré.",
        "Este código promocional ha caducado.",
        "Deze promotiecode is verlopen.",
        "Questo codice promozionale è scaduto.",
        "このプロモーションコードは期限切れです。",
    ],
    [
        "This promotion code has reached its maximum number of redemptions.",
        "Dieser Aktionscode wurde bereits so oft wie möglich eingelöst.",
        "Ce code promotionnel a atteint son nombre maximal d’utilisations.",
        "Este código promocional ha alcanzado su número máximo de usos.",
        "Deze promotiecode is al het maximale aantal keren gebruikt.",
        "Questo codice promozionale ha raggiunto il numero massimo di utilizzi.",
        "このプロモーションコードは利用上限に達しました。",
    ],
    [
        "This promotion code is not valid for this customer.",
        "Dieser Aktionscode gilt nicht für diesen Kunden.",
        "Ce code promotionnel n’est pas valable pour ce client.",
        "Este código promocional no es válido para este cliente.",
        "Deze promotiecode is niet geldig voor deze klant.",
        "Questo codice promozionale non è valido per questo cliente.",
        "このプロモーションコードはこのお客様には使用できません。",
    ],
    [
        "This promotion code is only valid for first-time customers.",
        "Dieser Aktionscode gilt nur für Neukunden.",
        "Ce code promotionnel est réservé aux nouveaux clients.",
        "Este código promocional solo es válido para clientes nuevos.",
        "Deze promotiecode is alleen geldig voor nieuwe klanten.",
        "Questo codice promozionale è valido solo per i nuovi clienti.",
        "このプロモーションコードは初回のお客様のみご利用いただけます。",
    ],
    [
        "This promotion code requires a minimum order of {0}.",
        "Für diesen Aktionscode ist ein Mindestbestellwert von {0} erforderlich.",
        "Ce code promotionnel nécessite une commande minimale de {0}.",
        "Este código promocional requiere un pedido mínimo de {0}.",
        "Voor deze promotiecode geldt een minimaal bestelbedrag van {0}.",
        "Questo codice promozionale richiede un ordine minimo di {0}.",
        "このプロモーションコードのご利用には {0} 以上のご注文が必要です。",
    ],
    [
        "This promotion code's coupon no longer exists.",
        "Der Gutschein zu diesem Aktionscode existiert nicht mehr.",
        "Le coupon de ce code promotionnel n’existe plus.",
        "El cupón de este código promocional ya no existe.",
        "De coupon van deze promotiecode bestaat niet meer.",
        "Il coupon di questo codice promozionale non esiste più.",
        "このプロモーションコードのクーポンはもう存在しません。",
    ],
    [
        "This discount no longer exists.",
        "Dieser Rabatt existiert nicht mehr.",
        "Cette remise n’existe plus.",
        "Este descuento ya no existe.",
        "Deze korting bestaat niet meer.",
        "Questo sconto non esiste più.",
        "この割引はもう存在しません。",
    ],
    [
        "This promotion code no longer exists.",
        "Dieser Aktionscode existiert nicht mehr.",
        "Ce code promotionnel n’existe plus.",
        "Este código promocional ya no existe.",
        "Deze promotiecode bestaat niet meer.",
        "Questo codice promozionale non esiste più.",
        "このプロモーションコードはもう存在しません。",
    ],
    [
        "Enter your e-mail address.",
        "Geben Sie Ihre E-Mail-Adresse ein.",
        "Saisissez votre adresse e-mail.",
        "Introduce tu dirección de correo electrónico.",
        "Vul je e-mailadres in.",
        "Inserisci il tuo indirizzo e-mail.",
        "メールアドレスを入力してください。",
    ],
    [
        "Enter a valid e-mail address.",
        "Geben Sie eine gültige E-Mail-Adresse ein.",
        "Saisissez une adresse e-mail valide.",
        "Introduce una dirección de correo electrónico válida.",
        "Vul een geldig e-mailadres in.",
        "Inserisci un indirizzo e-mail valido.",
        "有効なメールアドレスを入力してください。",
    ],
    [
        "This checkout is no longer open.",
        "Dieser Bestellvorgang ist nicht mehr offen.",
        "Cette commande n’est plus ouverte.",
        "Este pedido ya no está abierto.",
        "Deze bestelling is niet meer open.",
        "Questo ordine non è più aperto.",
        "このお支払いはすでに終了しています。",
    ],
    [
        "Enter your card details.",
        "Geben Sie Ihre Kartendaten ein.",
        "Saisissez les informations de votre carte.",
        "Introduce los datos de tu tarjeta.",
        "Vul je kaartgegevens in.",
        "Inserisci i dati della tua carta.",
        "カード情報を入力してください。",
    ],
    [
        "Your order changed after you approved the payment. Nothing was charged; check the total and pay again.",
        "Ihre Bestellung hat sich nach Ihrer Zahlungsbestätigung geändert. Es wurde nichts belastet; prüfen Sie den Gesamtbetrag und zahlen Sie erneut.",
        "Votre commande a changé après l’approbation du paiement. Rien n’a été débité ; vérifiez le total et payez à nouveau.",
        "Tu pedido cambió después de aprobar el pago. No se ha cobrado nada; revisa el total y vuelve a pagar.",
        "Je bestelling is gewijzigd nadat je de betaling goedkeurde. Er is niets afgeschreven; controleer het totaal en betaal opnieuw.",
        "Il tuo ordine è cambiato dopo l’approvazione del pagamento. Non è stato addebitato nulla; controlla il totale e paga di nuovo.",
        "お支払いの承認後にご注文が変更されました。請求はされていません。合計を確認して、もう一度お支払いください。",
    ],
    [
        "Choose one of the payment methods shown.",
        "Wählen Sie eine der angezeigten Zahlungsarten.",
        "Choisissez l’un des moyens de paiement proposés.",
        "Elige uno de los métodos de pago mostrados.",
        "Kies een van de getoonde betaalmethoden.",
        "Scegli uno dei metodi di pagamento mostrati.",
        "表示されているお支払い方法から選んでください。",
    ],
    [
        "Choose one of the shipping options shown.",
        "Wählen Sie eine der angezeigten Versandarten.",
        "Choisissez l’une des options de livraison proposées.",
        "Elige una de las opciones de envío mostradas.",
        "Kies een van de getoonde verzendopties.",
        "Scegli una delle opzioni di spedizione mostrate.",
        "表示されている配送方法から選んでください。",
    ],
    [
        "The shipping option changed: check the new total, then pay.",
        "Die Versandart hat sich geändert: Prüfen Sie den neuen Gesamtbetrag und zahlen Sie dann.",
        "L’option de livraison a changé : vérifiez le nouveau total, puis payez.",
        "La opción de envío ha cambiado: revisa el nuevo total y luego paga.",
        "De verzendoptie is gewijzigd: controleer het nieuwe totaal en betaal dan.",
        "L’opzione di spedizione è cambiata: controlla il nuovo totale, poi paga.",
        "配送方法が変更されました。新しい合計を確認してからお支払いください。",
    ],
    [
        "The tax changed with your address: check the new total, then pay.",
        "Die Steuer hat sich mit Ihrer Adresse geändert: Prüfen Sie den neuen Gesamtbetrag und zahlen Sie dann.",
        "La taxe a changé avec votre adresse : vérifiez le nouveau total, puis payez.",
        "El impuesto ha cambiado con tu dirección: revisa el nuevo total y luego paga.",
        "De belasting is gewijzigd door je adres: controleer het nieuwe totaal en betaal dan.",
        "L’imposta è cambiata con il tuo indirizzo: controlla il nuovo totale, poi paga.",
        "住所により税額が変わりました。新しい合計を確認してからお支払いください。",
    ],
    [
        "The card asked for authentication again; try another card.",
        "Die Karte hat erneut eine Authentifizierung verlangt; versuchen Sie eine andere Karte.",
        "La carte a de nouveau demandé une authentification ; essayez une autre carte.",
        "La tarjeta ha vuelto a pedir autenticación; prueba con otra tarjeta.",
        "De kaart vroeg opnieuw om verificatie; probeer een andere kaart.",
        "La carta ha richiesto di nuovo l’autenticazione; prova un’altra carta.",
        "カードが再度認証を求めました。別のカードをお試しください。",
    ],
    [
        "Start the PayPal payment from the checkout page.",
        "Starten Sie die PayPal-Zahlung auf der Bezahlseite.",
        "Lancez le paiement PayPal depuis la page de paiement.",
        "Inicia el pago con PayPal desde la página de pago.",
        "Start de PayPal-betaling vanaf de betaalpagina.",
        "Avvia il pagamento PayPal dalla pagina di pagamento.",
        "PayPal のお支払いはお支払いページから開始してください。",
    ],
    [
        "The PayPal payment was cancelled. Nothing was charged.",
        "Die PayPal-Zahlung wurde abgebrochen. Es wurde nichts belastet.",
        "Le paiement PayPal a été annulé. Rien n’a été débité.",
        "El pago con PayPal se ha cancelado. No se ha cobrado nada.",
        "De PayPal-betaling is geannuleerd. Er is niets afgeschreven.",
        "Il pagamento PayPal è stato annullato. Non è stato addebitato nulla.",
        "PayPal のお支払いはキャンセルされました。請求はされていません。",
    ],
    [
        "Your card was declined.",
        "Ihre Karte wurde abgelehnt.",
        "Votre carte a été refusée.",
        "Tu tarjeta ha sido rechazada.",
        "Je kaart is geweigerd.",
        "La tua carta è stata rifiutata.",
        "カードが拒否されました。",
    ],
    [
        "Your card has insufficient funds.",
        "Ihre Karte ist nicht ausreichend gedeckt.",
        "Le solde de votre carte est insuffisant.",
        "Tu tarjeta no tiene fondos suficientes.",
        "Je kaart heeft onvoldoende saldo.",
        "La tua carta non ha fondi sufficienti.",
        "カードの残高が不足しています。",
    ],
    [
        "Your card has expired.",
        "Ihre Karte ist abgelaufen.",
        "Votre carte a expiré.",
        "Tu tarjeta ha caducado.",
        "Je kaart is verlopen.",
        "La tua carta è scaduta.",
        "カードの有効期限が切れています。",
    ],
    [
        "Your card's security code is incorrect.",
        "Der Sicherheitscode Ihrer Karte ist falsch.",
        "Le code de sécurité de votre carte est incorrect.",
        "El código de seguridad de tu tarjeta es incorrecto.",
        "De beveiligingscode van je kaart is onjuist.",
        "Il codice di sicurezza della tua carta non è corretto.",
        "カードのセキュリティコードが正しくありません。",
    ],
    [
        "An error occurred while processing your card. Try again in a little bit.",
        "Bei der Verarbeitung Ihrer Karte ist ein Fehler aufgetreten. Versuchen Sie es gleich noch einmal.",
        "Une erreur s’est produite lors du traitement de votre carte. Réessayez dans un instant.",
        "Se ha producido un error al procesar tu tarjeta. Inténtalo de nuevo en un momento.",
        "Er is een fout opgetreden bij het verwerken van je kaart. Probeer het zo opnieuw.",
        "Si è verificato un errore durante l’elaborazione della carta. Riprova tra poco.",
        "カードの処理中にエラーが発生しました。しばらくしてからもう一度お試しください。",
    ],
    [
        "Your card was declined. kassa's test network only accepts test card numbers.",
        "Ihre Karte wurde abgelehnt. Das Testnetz von kassa akzeptiert nur Testkartennummern.",
        "Votre carte a été refusée. Le réseau de test de kassa n’accepte que des numéros de carte de test.",
        "Tu tarjeta ha sido rechazada. La red de pruebas de kassa solo acepta números de tarjeta de prueba.",
        "Je kaart is geweigerd. Het testnetwerk van kassa accepteert alleen testkaartnummers.",
        "La tua carta è stata rifiutata. La rete di test di kassa accetta solo numeri di carta di test.",
        "カードが拒否されました。kassa のテストネットワークではテスト用カード番号のみ使用できます。",
    ],
    [
        "We are unable to authenticate your payment method. Please choose a different payment method and try again.",
        "Wir können Ihre Zahlungsart nicht authentifizieren. Wählen Sie eine andere Zahlungsart und versuchen Sie es erneut.",
        "Nous ne parvenons pas à authentifier votre moyen de paiement. Choisissez-en un autre et réessayez.",
        "No podemos autenticar tu método de pago. Elige otro método de pago e inténtalo de nuevo.",
        "We kunnen je betaalmethode niet verifiëren. Kies een andere betaalmethode en probeer het opnieuw.",
        "Non riusciamo ad autenticare il tuo metodo di pagamento. Scegline un altro e riprova.",
        "お支払い方法を認証できませんでした。別のお支払い方法を選んで、もう一度お試しください。",
    ],
    [
        "Your card number is invalid.",
        "Ihre Kartennummer ist ungültig.",
        "Le numéro de votre carte n’est pas valide.",
        "El número de tu tarjeta no es válido.",
        "Je kaartnummer is ongeldig.",
        "Il numero della tua carta non è valido.",
        "カード番号が無効です。",
    ],
    [
        "Your card number is incomplete.",
        "Ihre Kartennummer ist unvollständig.",
        "Le numéro de votre carte est incomplet.",
        "El número de tu tarjeta está incompleto.",
        "Je kaartnummer is onvolledig.",
        "Il numero della tua carta è incompleto.",
        "カード番号が不完全です。",
    ],
    [
        "Your card's expiration date is incomplete.",
        "Das Ablaufdatum Ihrer Karte ist unvollständig.",
        "La date d’expiration de votre carte est incomplète.",
        "La fecha de caducidad de tu tarjeta está incompleta.",
        "De vervaldatum van je kaart is onvolledig.",
        "La data di scadenza della tua carta è incompleta.",
        "カードの有効期限が不完全です。",
    ],
    [
        "Your card's expiration date is invalid.",
        "Das Ablaufdatum Ihrer Karte ist ungültig.",
        "La date d’expiration de votre carte n’est pas valide.",
        "La fecha de caducidad de tu tarjeta no es válida.",
        "De vervaldatum van je kaart is ongeldig.",
        "La data di scadenza della tua carta non è valida.",
        "カードの有効期限が無効です。",
    ],
    [
        "Your card's expiration month is invalid.",
        "Der Ablaufmonat Ihrer Karte ist ungültig.",
        "Le mois d’expiration de votre carte n’est pas valide.",
        "El mes de caducidad de tu tarjeta no es válido.",
        "De vervalmaand van je kaart is ongeldig.",
        "Il mese di scadenza della tua carta non è valido.",
        "カードの有効期限の月が無効です。",
    ],
    [
        "Your card's expiration year is invalid.",
        "Das Ablaufjahr Ihrer Karte ist ungültig.",
        "L’année d’expiration de votre carte n’est pas valide.",
        "El año de caducidad de tu tarjeta no es válido.",
        "Het vervaljaar van je kaart is ongeldig.",
        "L’anno di scadenza della tua carta non è valido.",
        "カードの有効期限の年が無効です。",
    ],
    [
        "Your card's expiration date is in the past.",
        "Das Ablaufdatum Ihrer Karte liegt in der Vergangenheit.",
        "La date d’expiration de votre carte est passée.",
        "La fecha de caducidad de tu tarjeta ya ha pasado.",
        "De vervaldatum van je kaart ligt in het verleden.",
        "La data di scadenza della tua carta è già passata.",
        "カードの有効期限が過ぎています。",
    ],
    [
        "Your card's security code is invalid.",
        "Der Sicherheitscode Ihrer Karte ist ungültig.",
        "Le code de sécurité de votre carte n’est pas valide.",
        "El código de seguridad de tu tarjeta no es válido.",
        "De beveiligingscode van je kaart is ongeldig.",
        "Il codice di sicurezza della tua carta non è valido.",
        "カードのセキュリティコードが無効です。",
    ],
    [
        "Your card's security code is incomplete.",
        "Der Sicherheitscode Ihrer Karte ist unvollständig.",
        "Le code de sécurité de votre carte est incomplet.",
        "El código de seguridad de tu tarjeta está incompleto.",
        "De beveiligingscode van je kaart is onvolledig.",
        "Il codice di sicurezza della tua carta è incompleto.",
        "カードのセキュリティコードが不完全です。",
    ],
    [
        "Too many attempts. Try again in {0} s.",
        "Zu viele Versuche. Versuchen Sie es in {0} s erneut.",
        "Trop de tentatives. Réessayez dans {0} s.",
        "Demasiados intentos. Inténtalo de nuevo en {0} s.",
        "Te veel pogingen. Probeer het over {0} s opnieuw.",
        "Troppi tentativi. Riprova tra {0} s.",
        "試行回数が多すぎます。{0} 秒後にもう一度お試しください。",
    ],
    // The error pages: headings, then messages.
    [
        "Checkout not found",
        "Bestellvorgang nicht gefunden",
        "Paiement introuvable",
        "Pago no encontrado",
        "Betaling niet gevonden",
        "Pagamento non trovato",
        "お支払いページが見つかりません",
    ],
    [
        "This payment link is not valid. Check the link you were given.",
        "Dieser Zahlungslink ist ungültig. Prüfen Sie den Link, den Sie erhalten haben.",
        "Ce lien de paiement n’est pas valide. Vérifiez le lien qui vous a été donné.",
        "Este enlace de pago no es válido. Comprueba el enlace que te dieron.",
        "Deze betaallink is niet geldig. Controleer de link die je hebt gekregen.",
        "Questo link di pagamento non è valido. Controlla il link che hai ricevuto.",
        "この支払いリンクは無効です。受け取ったリンクを確認してください。",
    ],
    [
        "Request refused",
        "Anfrage abgelehnt",
        "Demande refusée",
        "Solicitud rechazada",
        "Verzoek geweigerd",
        "Richiesta rifiutata",
        "リクエストが拒否されました",
    ],
    [
        "This form can only be sent from the checkout page itself.",
        "Dieses Formular kann nur von der Bezahlseite selbst gesendet werden.",
        "Ce formulaire ne peut être envoyé que depuis la page de paiement elle-même.",
        "Este formulario solo se puede enviar desde la propia página de pago.",
        "Dit formulier kan alleen vanaf de betaalpagina zelf worden verzonden.",
        "Questo modulo può essere inviato solo dalla pagina di pagamento stessa.",
        "このフォームはお支払いページからのみ送信できます。",
    ],
    [
        "Something went wrong",
        "Etwas ist schiefgelaufen",
        "Un problème est survenu",
        "Algo ha salido mal",
        "Er is iets misgegaan",
        "Si è verificato un problema",
        "問題が発生しました",
    ],
    [
        "Something went wrong on our side. Try again in a moment.",
        "Bei uns ist etwas schiefgelaufen. Versuchen Sie es gleich noch einmal.",
        "Un problème est survenu de notre côté. Réessayez dans un instant.",
        "Algo ha salido mal por nuestra parte. Inténtalo de nuevo en un momento.",
        "Er is aan onze kant iets misgegaan. Probeer het zo opnieuw.",
        "Si è verificato un problema da parte nostra. Riprova tra un momento.",
        "こちら側で問題が発生しました。しばらくしてからもう一度お試しください。",
    ],
    [
        "Something went wrong on our side. Nothing was charged twice: try again in a moment.",
        "Bei uns ist etwas schiefgelaufen. Es wurde nichts doppelt belastet: Versuchen Sie es gleich noch einmal.",
        "Un problème est survenu de notre côté. Rien n’a été débité deux fois : réessayez dans un instant.",
        "Algo ha salido mal por nuestra parte. No se ha cobrado nada dos veces: inténtalo de nuevo en un momento.",
        "Er is aan onze kant iets misgegaan. Er is niets dubbel afgeschreven: probeer het zo opnieuw.",
        "Si è verificato un problema da parte nostra. Non è stato addebitato nulla due volte: riprova tra un momento.",
        "こちら側で問題が発生しました。二重に請求されてはいません。しばらくしてからもう一度お試しください。",
    ],
    [
        "Unavailable",
        "Nicht verfügbar",
        "Indisponible",
        "No disponible",
        "Niet beschikbaar",
        "Non disponibile",
        "ご利用いただけません",
    ],
    [
        "The checkout is unavailable right now. Try again in a moment.",
        "Der Bestellvorgang ist gerade nicht verfügbar. Versuchen Sie es gleich noch einmal.",
        "Le paiement est indisponible pour le moment. Réessayez dans un instant.",
        "El pago no está disponible en este momento. Inténtalo de nuevo en un momento.",
        "De betaalpagina is nu niet beschikbaar. Probeer het zo opnieuw.",
        "Il pagamento non è disponibile al momento. Riprova tra un momento.",
        "現在お支払いページをご利用いただけません。しばらくしてからもう一度お試しください。",
    ],
    [
        "This link no longer works",
        "Dieser Link funktioniert nicht mehr",
        "Ce lien ne fonctionne plus",
        "Este enlace ya no funciona",
        "Deze link werkt niet meer",
        "Questo link non funziona più",
        "このリンクは使用できなくなりました",
    ],
    [
        "There is no checkout to recover here. Go back to the shop to start again.",
        "Hier gibt es keinen Bestellvorgang wiederherzustellen. Kehren Sie zum Shop zurück, um neu zu beginnen.",
        "Il n’y a aucune commande à récupérer ici. Retournez sur la boutique pour recommencer.",
        "No hay ningún pedido que recuperar aquí. Vuelve a la tienda para empezar de nuevo.",
        "Er is hier geen bestelling om te herstellen. Ga terug naar de winkel om opnieuw te beginnen.",
        "Non c’è nessun ordine da recuperare qui. Torna al negozio per ricominciare.",
        "復元できるお支払いはありません。ショップに戻ってやり直してください。",
    ],
    [
        "Form not understood",
        "Formular nicht verstanden",
        "Formulaire incompréhensible",
        "Formulario no reconocido",
        "Formulier niet begrepen",
        "Modulo non riconosciuto",
        "フォームを読み取れません",
    ],
    // The customer portal's error pages.
    [
        "Portal link not valid",
        "Portal-Link ungültig",
        "Lien du portail non valide",
        "Enlace del portal no válido",
        "Portallink ongeldig",
        "Link del portale non valido",
        "ポータルのリンクが無効です",
    ],
    [
        "This billing portal link is not valid or has expired. Go back to the site you came from and open the billing portal again.",
        "Dieser Link zum Kundenportal ist ungültig oder abgelaufen. Kehren Sie zur Website zurück, von der Sie kamen, und öffnen Sie das Kundenportal erneut.",
        "Ce lien vers le portail de facturation n’est pas valide ou a expiré. Retournez sur le site d’où vous venez et ouvrez à nouveau le portail de facturation.",
        "Este enlace al portal de facturación no es válido o ha caducado. Vuelve al sitio del que vienes y abre de nuevo el portal de facturación.",
        "Deze link naar het klantenportaal is ongeldig of verlopen. Ga terug naar de site waar je vandaan kwam en open het klantenportaal opnieuw.",
        "Questo link al portale di fatturazione non è valido o è scaduto. Torna al sito da cui provieni e apri di nuovo il portale di fatturazione.",
        "この請求ポータルのリンクは無効か、有効期限が切れています。元のサイトに戻り、請求ポータルをもう一度開いてください。",
    ],
    [
        "This form is out of date or was not sent from the billing portal: reload the page and try again.",
        "Dieses Formular ist veraltet oder wurde nicht aus dem Kundenportal gesendet: Laden Sie die Seite neu und versuchen Sie es erneut.",
        "Ce formulaire est périmé ou n’a pas été envoyé depuis le portail de facturation : rechargez la page et réessayez.",
        "Este formulario está desactualizado o no se envió desde el portal de facturación: vuelve a cargar la página e inténtalo de nuevo.",
        "Dit formulier is verouderd of niet vanuit het klantenportaal verzonden: laad de pagina opnieuw en probeer het nog eens.",
        "Questo modulo non è aggiornato o non è stato inviato dal portale di fatturazione: ricarica la pagina e riprova.",
        "このフォームは古いか、請求ポータルから送信されていません。ページを再読み込みしてもう一度お試しください。",
    ],
    [
        "Not available",
        "Nicht verfügbar",
        "Non disponible",
        "No disponible",
        "Niet beschikbaar",
        "Non disponibile",
        "ご利用いただけません",
    ],
];

/// The parts of `message` that fill the holes of `template` (`{0}`, `{1}`, …), if it is that
/// template's message.
fn holes<'m>(template: &str, message: &'m str) -> Option<Vec<&'m str>> {
    let mut literals = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let close = open + rest[open..].find('}')?;
        literals.push(&rest[..open]);
        rest = &rest[close + 1..];
    }
    literals.push(rest);
    let (first, others) = literals.split_first()?;
    let mut m = message.strip_prefix(first)?;
    let mut filled = Vec::new();
    for (i, lit) in others.iter().enumerate() {
        let at = if i + 1 == others.len() {
            m.strip_suffix(lit).map(str::len)?
        } else {
            m.find(lit).filter(|_| !lit.is_empty())?
        };
        let hole = &m[..at];
        if hole.is_empty() {
            return None;
        }
        filled.push(hole);
        m = &m[at + lit.len()..];
    }
    (others.is_empty() && m.is_empty() || !others.is_empty()).then_some(filled)
}

impl Strings {
    /// `message` (what the rules, the card network or an error page say, in English) in this
    /// language; a message the page has no translation for stays as it is. A message made of
    /// several known sentences (the card form's errors together) is translated sentence by
    /// sentence.
    pub fn rule(&self, message: &str) -> String {
        let Some(column) = ALL.iter().position(|s| s.lang == self.lang).filter(|c| *c > 0) else {
            return message.to_owned();
        };
        let one = |m: &str| {
            RULES.iter().find_map(|row| {
                let filled = holes(row[0], m)?;
                let mut out = row[column].to_owned();
                for (i, part) in filled.iter().enumerate() {
                    out = out.replace(&format!("{{{i}}}"), part);
                }
                Some(out)
            })
        };
        if let Some(t) = one(message) {
            return t;
        }
        // Sentences joined by a space ("Your card number is invalid. Your card's security code
        // is incomplete."): each must be known.
        let sentences: Vec<&str> = message.split_inclusive(". ").map(str::trim).collect();
        if sentences.len() > 1 {
            let translated: Option<Vec<String>> = sentences.iter().map(|s| one(s)).collect();
            if let Some(t) = translated {
                return t.join(if self.lang == "ja" { "" } else { " " });
            }
        }
        message.to_owned()
    }

    /// The label of a tax id type in the page's select (`eu_vat` → "EU VAT").
    pub fn tax_id_label(&self, code: &str) -> String {
        let label = match code {
            "eu_vat" => "EU VAT",
            "gb_vat" => "UK VAT",
            "us_ein" => "US EIN",
            "au_abn" => "AU ABN",
            "ca_bn" => "CA BN",
            "in_gst" => "IN GST",
            "ch_vat" => "CH VAT",
            "no_vat" => "NO VAT",
            "nz_gst" => "NZ GST",
            "jp_cn" => "JP CN",
            other => return other.to_ascii_uppercase().replace('_', " "),
        };
        label.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cur(c: &str) -> Currency {
        Currency::parse(c).unwrap()
    }

    #[test]
    fn amounts_as_each_language_writes_them() {
        assert_eq!(EN.money(cur("eur"), 4800), "€48.00");
        assert_eq!(DE.money(cur("eur"), 4800), "48,00\u{a0}€");
        assert_eq!(FR.money(cur("eur"), 123_456), "1\u{202f}234,56\u{a0}€");
        assert_eq!(EN.money(cur("usd"), 123_456), "$1,234.56");
        assert_eq!(JA.money(cur("jpy"), 1000), "¥1,000");
        assert_eq!(NL.money(cur("eur"), 4800), "€\u{a0}48,00");
        assert_eq!(EN.money(cur("chf"), 4800), "CHF\u{a0}48.00");
        assert_eq!(DE.money(cur("kwd"), 1234), "1,234\u{a0}KWD");
    }

    #[test]
    fn the_language_follows_locale_then_accept_language() {
        assert_eq!(negotiate(Some("fr"), Some("de")).lang, "fr");
        assert_eq!(negotiate(Some("fr-CA"), None).lang, "fr");
        assert_eq!(negotiate(Some("ko"), Some("de")).lang, "en", "not written in Korean: English");
        assert_eq!(negotiate(Some("auto"), Some("ko, de-CH;q=0.8, en;q=0.5")).lang, "de");
        assert_eq!(negotiate(None, Some("ja;q=0.9, it")).lang, "it");
        assert_eq!(negotiate(None, None).lang, "en");
    }

    #[test]
    fn every_language_has_every_placeholder() {
        for s in ALL {
            for (t, holes) in [
                (s.pay, &["{amount}"][..]),
                (s.day_trial, &["{n}"]),
                (s.trial_notice, &["{n}", "{amount}", "{interval}"]),
                (s.missing, &["{field}"]),
                (s.malformed, &["{field}"]),
                (s.expired, &["{merchant}"]),
                (s.transfer_body, &["{amount}", "{merchant}"]),
                (s.confirm_body, &["{amount}", "{merchant}"]),
                (s.paypal_body, &["{amount}", "{merchant}"]),
            ] {
                for h in holes {
                    assert!(t.contains(h), "{}: {t} lacks {h}", s.lang);
                }
            }
        }
    }

    #[test]
    fn rule_messages_in_each_language() {
        assert_eq!(DE.rule("This code is not valid."), "Dieser Code ist ungültig.");
        assert_eq!(EN.rule("This code is not valid."), "This code is not valid.");
        assert_eq!(
            FR.rule("The quantity must be between 1 and 12."),
            "La quantité doit être comprise entre 1 et 12."
        );
        assert_eq!(
            JA.rule("This promotion code requires a minimum order of 30.00 USD."),
            "このプロモーションコードのご利用には 30.00 USD 以上のご注文が必要です。"
        );
        assert_eq!(
            ES.rule("Your card number is invalid. Your card's security code is incomplete."),
            "El número de tu tarjeta no es válido. El código de seguridad de tu tarjeta está incompleto."
        );
        assert_eq!(IT.rule("Something unknown."), "Something unknown.", "unknown messages stay");
        assert_eq!(
            NL.rule("Too many attempts. Try again in 30 s."),
            "Te veel pogingen. Probeer het over 30 s opnieuw."
        );
        assert_eq!(DE.rule("The quantity must be between  and 3."), "The quantity must be between  and 3.");
    }

    #[test]
    fn every_rule_has_every_language_and_its_holes() {
        for row in RULES {
            let holes = row[0].matches('{').count();
            for (i, t) in row.iter().enumerate() {
                assert!(!t.is_empty(), "{}: column {i}", row[0]);
                for h in 0..holes {
                    assert!(t.contains(&format!("{{{h}}}")), "{}: column {i} lacks {{{h}}}", row[0]);
                }
            }
        }
    }
}
