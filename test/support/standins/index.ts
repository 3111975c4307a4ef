/**
 * The provider stand-ins of issue 14, one per built-in provider, and the network that routes the
 * catalogue's real hosts to them. See ./standin.ts for what a stand-in is.
 */
export { StandInNetwork } from './network';
export { connect, registeredRedirect, STANDIN_APP, STANDIN_BROKER_URL, type StandIn, type StandInOptions } from './standin';
export { startGoogleStandIn } from './google';
export { startMailchimpStandIn } from './mailchimp';
export { startMicrosoftStandIn } from './microsoft';
export { startNotionStandIn } from './notion';
export { startPipedriveStandIn } from './pipedrive';
export { startQuickBooksStandIn } from './quickbooks';
export { startSalesforceStandIn } from './salesforce';
export { shopifyHmac, startShopifyStandIn } from './shopify';
export { startSlackStandIn } from './slack';
export { startXeroStandIn } from './xero';
export { startZendeskStandIn } from './zendesk';
export { startZohoStandIn, ZOHO_DATA_CENTRES } from './zoho';
