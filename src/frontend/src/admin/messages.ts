// The admin pages' strings, added to the catalogue when this chunk loads: every admin module
// imports this, so patients never download them and no admin component renders without them.
import { addMessages } from "../i18n";
import { enAdmin } from "../i18n/en.admin";

addMessages("en", enAdmin);
