//! The hosted page's languages (issue 15): every string of the checkout page and of the page a
//! closed checkout shows, in English, German, French, Spanish, Dutch, Italian and Japanese, and
//! amounts written as each language writes them (`€48.00` in English, `48,00 €` in German and
//! French).
//!
//! The session's `locale` picks the language; `auto` (or none) follows the browser's
//! `Accept-Language`; a language the page is not written in falls back to English. Messages that
//! come from the rules (a declined card, a promotion code that does not apply) stay in English.

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
};

const ALL: [&Strings; 7] = [&EN, &DE, &FR, &ES, &NL, &IT, &JA];

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
            ] {
                for h in holes {
                    assert!(t.contains(h), "{}: {t} lacks {h}", s.lang);
                }
            }
        }
    }
}
